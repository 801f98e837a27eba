/*
 * engine_sockmap_none: the sockmap engine of a build without BPF
 * (./configure --disable-bpf, or no clang, bpftool or libbpf). It is
 * never available, says why, and no flow ever uses it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "engine.h"

int
engine_sockmap_load(void)
{
	return -1;
}

void
engine_sockmap_unload(void)
{
}

int
engine_sockmap_available(void)
{
	return 0;
}

const char *
engine_sockmap_why(void)
{
	return "splicer was built without BPF (./configure --disable-bpf, or clang, "
	    "bpftool or libbpf missing)";
}

const char *
engine_sockmap_build(void)
{
	return "built without BPF";
}

void
engine_kernel_stats(struct engine_kernel_stats *st)
{
	memset(st, 0, sizeof(*st));
}

int
engine_sockmap_enter(struct flow *f)
{
	errno = ENOSYS;
	return -1;
}

static ssize_t
engine_sockmap_none_run(struct flow *f)
{
	errno = ENOSYS;
	return -1;
}

static size_t
engine_sockmap_none_pending(const struct flow *f)
{
	return 0;
}

static void
engine_sockmap_none_release(struct flow *f)
{
}

const struct engine_ops engine_sockmap_ops = {
	.name = "sockmap",
	.id = ENGINE_SOCKMAP,
	/* No flow is ever in the kernel: nothing to hold, no capability. */
	.run = engine_sockmap_none_run,
	.pending = engine_sockmap_none_pending,
	.release = engine_sockmap_none_release,
};
