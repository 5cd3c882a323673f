/*
 * Error codes. Every nbfs function that can fail returns int: 0 on success,
 * a negative errno value, or one of the negative project codes below.
 */
#ifndef NB_ERR_H
#define NB_ERR_H

enum {
	NB_E_BASE = -10000,
	NB_E_PROTO,        /* peer sent a malformed or unexpected frame */
	NB_E_TOOBIG,       /* a length exceeded its hard cap */
	NB_E_SHORT,        /* buffer ended before the field did */
	NB_E_VERSION,      /* peer speaks an incompatible protocol version */
	NB_E_EOF,          /* peer closed the stream */
	NB_E_HOSTKEY,      /* host key unknown or changed: refused */
	NB_E_AUTH,         /* no configured way to authenticate was accepted */
	NB_E_SSH,          /* libssh2 reported an error (see log) */
	NB_E_CONN,         /* could not reach the server */
	NB_E_MD5,          /* content did not match its announced MD5 */
	NB_E_CHANGED,      /* local file changed while it was being uploaded */
	NB_E_BUSY,         /* another session is uploading the same content */
	NB_E_REMOTE,       /* server reported an error (text in the reply) */
	NB_E_TIMEOUT,      /* operation did not finish in time */
	NB_E_CONFIG,       /* bad configuration or command line */
	NB_E_DB,           /* state database error */
	NB_E_OFFLINE,      /* server not connected */
	NB_E_LAST
};

/* Text for any nbfs return code (negative errno or NB_E_*). Never NULL;
 * points to static storage. */
const char *nb_strerror(int r);

#endif
