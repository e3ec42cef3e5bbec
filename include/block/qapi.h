/*
 * block/qapi.h: images described as QAPI values, for the tools.
 *
 * qemu-img prints ImageInfo from QEMU's dictionaries, which are hash
 * tables: the member order a user sees (in JSON and in the human
 * "Format specific information" block that qemu-io's "info" prints too)
 * is that of the hash, not of the schema.  These helpers keep that order
 * so that both tools print what QEMU's print.
 */
#ifndef QBLOCK_BLOCK_QAPI_H
#define QBLOCK_BLOCK_QAPI_H

#include <stdio.h>

#include <json-glib/json-glib.h>

#include "qapi-types.h"

/*
 * A deep copy of @node with every object's members in qemu-img 7.2's
 * order (members it does not know last, in their given order).
 */
JsonNode *bdrv_image_info_reorder(JsonNode *node);

/*
 * Print the members of @spec's data as qemu-img info and qemu-io info
 * do under "Format specific information:": one "    key: value" line
 * each, dashes in names as blanks, nested objects and lists one level
 * further in.
 */
void bdrv_image_info_specific_dump(ImageInfoSpecific *spec, FILE *out);

#endif /* QBLOCK_BLOCK_QAPI_H */
