import Testing

@Suite struct OttoConfigTestsPlaceholder {}
