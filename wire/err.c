/*
 * Error codes: nbfs's own beside -errno, their texts, and their mapping to
 * and from the wire. The contract is in err.h.
 */
#include "wire/err.h"

#include <errno.h>
#include <string.h>

static const char *const nb_err_text[] = {
	[NB_E_PROTO - NB_E_BASE] = "protocol error: malformed or unexpected frame",
	[NB_E_TOOBIG - NB_E_BASE] = "length exceeds limit",
	[NB_E_SHORT - NB_E_BASE] = "truncated message",
	[NB_E_VERSION - NB_E_BASE] = "incompatible protocol version",
	[NB_E_EOF - NB_E_BASE] = "connection closed by peer",
	[NB_E_HOSTKEY - NB_E_BASE] = "host key verification failed",
	[NB_E_AUTH - NB_E_BASE] = "authentication failed",
	[NB_E_SSH - NB_E_BASE] = "SSH error",
	[NB_E_CONN - NB_E_BASE] = "cannot connect to server",
	[NB_E_MD5 - NB_E_BASE] = "MD5 mismatch",
	[NB_E_CHANGED - NB_E_BASE] = "file changed during upload",
	[NB_E_BUSY - NB_E_BASE] = "upload of the same content in progress elsewhere",
	[NB_E_REMOTE - NB_E_BASE] = "server error",
	[NB_E_TIMEOUT - NB_E_BASE] = "timed out",
	[NB_E_CONFIG - NB_E_BASE] = "configuration error",
	[NB_E_DB - NB_E_BASE] = "state database error",
	[NB_E_OFFLINE - NB_E_BASE] = "server not connected",
};

const char *nb_strerror(int r)
{
	if (r == 0)
		return "success";
	if (r > NB_E_BASE && r < NB_E_LAST) {
		const char *s = nb_err_text[r - NB_E_BASE];
		return s ? s : "unknown error";
	}
	if (r < 0 && r > NB_E_BASE)
		return strerror(-r);
	return "unknown error";
}
