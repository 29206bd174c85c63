import Testing

@Suite struct OttoSSHTestsPlaceholder {}
