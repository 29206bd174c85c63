/// SSH on libssh2.
public enum OttoSSHModule {}
