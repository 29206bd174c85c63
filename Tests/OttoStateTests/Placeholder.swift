import Testing

@Suite struct OttoStateTestsPlaceholder {}
