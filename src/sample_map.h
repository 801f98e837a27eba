/*
 * sample_map: map files for the map_* converters (HAProxy
 * configuration.txt 7.3.1 "map"): "KEY VALUE" lines, read once when the
 * configuration is parsed, then looked up by many threads without a lock
 * (nothing changes them afterwards).
 */
#ifndef SPLICER_SAMPLE_MAP_H
#define SPLICER_SAMPLE_MAP_H

struct sample_map;

/* Free a map sample_map converters loaded (NULL: nothing). */
void sample_map_free(struct sample_map *m);

#endif
