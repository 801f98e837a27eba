/*
 * splicerctl: the parts of the admin client (splicerctl.c is the command
 * sender, splicerctl_top.c the live view of the stats file).
 */
#ifndef SPLICER_SPLICERCTL_H
#define SPLICER_SPLICERCTL_H

/* Show the stats file at path, redrawn every second until 'q' (or for
 * `frames` frames when > 0). Returns the exit status. */
int ctl_top(const char *path, int frames);

#endif
