import Testing

@Suite struct OttoProvidersTestsPlaceholder {}
