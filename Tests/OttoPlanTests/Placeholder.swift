import Testing

@Suite struct OttoPlanTestsPlaceholder {}
