import Testing

@Suite struct OttoEngineTestsPlaceholder {}
