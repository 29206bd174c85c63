/// Shared helpers for tests: a recording provider and process helpers.
public enum OttoTestSupportModule {}
