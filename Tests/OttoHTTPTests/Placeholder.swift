import Testing

@Suite struct OttoHTTPTestsPlaceholder {}
