import Testing

@Suite struct OttoCoreTestsPlaceholder {}
