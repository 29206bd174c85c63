#ifndef OTTO_CLIBSSH2_SHIM_H
#define OTTO_CLIBSSH2_SHIM_H
#include <string.h>
#include <libssh2.h>
#include <libssh2_sftp.h>

/* libssh2 exposes many calls as macros, which Swift cannot import; these static inline functions stand in for them. */

static inline LIBSSH2_SESSION *otto_ssh2_session_init(void) { return libssh2_session_init(); }

static inline int otto_ssh2_session_disconnect(LIBSSH2_SESSION *session, const char *description) {
    return libssh2_session_disconnect(session, description);
}

static inline int otto_ssh2_userauth_publickey_fromfile(LIBSSH2_SESSION *session, const char *user,
                                                        const char *publickey, const char *privatekey,
                                                        const char *passphrase) {
    return libssh2_userauth_publickey_fromfile_ex(session, user, (unsigned int)strlen(user), publickey, privatekey,
                                                  passphrase);
}

static inline LIBSSH2_CHANNEL *otto_ssh2_channel_open_session(LIBSSH2_SESSION *session) {
    return libssh2_channel_open_session(session);
}

static inline int otto_ssh2_channel_exec(LIBSSH2_CHANNEL *channel, const char *command) {
    return libssh2_channel_exec(channel, command);
}

static inline ssize_t otto_ssh2_channel_read(LIBSSH2_CHANNEL *channel, char *buf, size_t buflen) {
    return libssh2_channel_read(channel, buf, buflen);
}

static inline ssize_t otto_ssh2_channel_read_stderr(LIBSSH2_CHANNEL *channel, char *buf, size_t buflen) {
    return libssh2_channel_read_stderr(channel, buf, buflen);
}

static inline ssize_t otto_ssh2_channel_write(LIBSSH2_CHANNEL *channel, const char *buf, size_t buflen) {
    return libssh2_channel_write(channel, buf, buflen);
}

static inline LIBSSH2_SFTP_HANDLE *otto_ssh2_sftp_open(LIBSSH2_SFTP *sftp, const char *path, unsigned long flags,
                                                       long mode) {
    return libssh2_sftp_open_ex(sftp, path, (unsigned int)strlen(path), flags, mode, LIBSSH2_SFTP_OPENFILE);
}

static inline int otto_ssh2_sftp_fsetstat(LIBSSH2_SFTP_HANDLE *handle, LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_fsetstat(handle, attrs);
}

static inline int otto_ssh2_sftp_rename(LIBSSH2_SFTP *sftp, const char *source, const char *destination, long flags) {
    return libssh2_sftp_rename_ex(sftp, source, (unsigned int)strlen(source), destination,
                                  (unsigned int)strlen(destination), flags);
}

static inline int otto_ssh2_sftp_unlink(LIBSSH2_SFTP *sftp, const char *path) {
    return libssh2_sftp_unlink(sftp, path);
}

static inline int otto_ssh2_sftp_stat(LIBSSH2_SFTP *sftp, const char *path, LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_stat(sftp, path, attrs);
}

/* Flag values Swift sees as plain constants. */
static const int OTTO_SSH2_KNOWNHOST_PLAIN_BASE64 = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_BASE64;
static const int OTTO_SSH2_KNOWNHOST_PLAIN_RAW = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW;
static const int OTTO_SSH2_KNOWNHOST_KEY_MASK = LIBSSH2_KNOWNHOST_KEY_MASK;
static const int OTTO_SSH2_KNOWNHOST_KEY_SHIFT = LIBSSH2_KNOWNHOST_KEY_SHIFT;
static const unsigned long OTTO_SSH2_SFTP_RENAME_ALL =
    LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE;

#endif
