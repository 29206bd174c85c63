/// HTTP client on libcurl.
public enum OttoHTTPModule {}
