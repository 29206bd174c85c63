/// State stores.
public enum OttoStateModule {}
