/*
 * Offset negotiation: where to continue an upload, given what the server
 * says it holds. The contract is in resume.h.
 */
#include "sync/resume.h"

#include <string.h>

int nb_resume_needs_prefix(const struct nb_put_offer *offer, uint64_t size)
{
	return offer->offset > 0 && offer->offset <= size;
}

uint64_t nb_resume_offset(const struct nb_put_offer *offer, uint64_t size,
			  const uint8_t local_prefix_md5[NB_MD5_LEN])
{
	if (!nb_resume_needs_prefix(offer, size))
		return 0;
	if (memcmp(offer->prefix_md5, local_prefix_md5, NB_MD5_LEN) != 0)
		return 0;
	return offer->offset;
}
