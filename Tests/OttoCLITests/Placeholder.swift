import Testing

@Suite struct OttoCLITestsPlaceholder {}
