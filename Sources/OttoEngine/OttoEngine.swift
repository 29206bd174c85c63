/// Refresh, plan and apply orchestration.
public enum OttoEngineModule {}
