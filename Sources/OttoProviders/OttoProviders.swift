/// Providers: one folder per provider.
public enum OttoProvidersModule {}
