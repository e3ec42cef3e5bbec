/*
 * image-info.c: ImageInfo printed in the order QEMU's tools print it.
 *
 * qemu-img and qemu-io build their output from QEMU's dictionaries,
 * hash tables whose member order is neither the schema's nor sorted;
 * users (and iotests' golden files) see that order, so it is written
 * down here once (info_key_order) and both qblock-img and qblock-io use
 * it.  For example qemu-img info --output=json puts "virtual-size"
 * before "filename", and its format-specific block "compat" first and
 * "extended-l2" last.
 */
#include "qemu/osdep.h"

#include "block/qapi.h"
#include "qapi-visit.h"
#include "qapi/qjson.h"
#include "qemu/json-writer.h"


/*
 * The order in which qemu-img 7.2 prints the members of ImageInfo and of
 * its format-specific part (QEMU's dictionaries are hash tables, so this
 * is neither the schema's order nor alphabetical).  Members not listed
 * go last, in the schema's order.
 */
static const char *const info_key_order[] = {
    "backing-image", "backing-filename-format", "virtual-size", "filename",
    "cluster-size", "format", "actual-size", "format-specific",
    "full-backing-filename", "backing-filename", "dirty-flag",
    "type", "data",
    "compat", "compression-type", "lazy-refcounts", "refcount-bits",
    "corrupt", "extended-l2",
};

static guint info_key_rank(const char *key)
{
    guint i;

    for (i = 0; i < G_N_ELEMENTS(info_key_order); i++) {
        if (!strcmp(key, info_key_order[i])) {
            return i;
        }
    }
    return G_N_ELEMENTS(info_key_order);
}

static gint info_key_cmp(gconstpointer a, gconstpointer b)
{
    guint ra = info_key_rank(*(const char *const *)a);
    guint rb = info_key_rank(*(const char *const *)b);

    return ra < rb ? -1 : ra > rb;
}

JsonNode *bdrv_image_info_reorder(JsonNode *node)
{
    JsonObject *obj, *out;
    g_autoptr(GPtrArray) keys = NULL;
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;
    guint i;

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        return json_node_copy(node);
    }
    obj = json_node_get_object(node);
    keys = g_ptr_array_new();
    json_object_iter_init_ordered(&iter, obj);
    while (json_object_iter_next_ordered(&iter, &name, &member)) {
        g_ptr_array_add(keys, (gpointer)name);
    }
    /* g_ptr_array_sort is not stable: ties keep the schema's order. */
    for (i = 1; i < keys->len; i++) {
        guint j = i;

        while (j > 0 && info_key_cmp(&keys->pdata[j - 1],
                                     &keys->pdata[j]) > 0) {
            gpointer t = keys->pdata[j];

            keys->pdata[j] = keys->pdata[j - 1];
            keys->pdata[j - 1] = t;
            j--;
        }
    }
    out = json_object_new();
    for (i = 0; i < keys->len; i++) {
        json_object_set_member(out, keys->pdata[i],
                               bdrv_image_info_reorder(json_object_get_member(
                                   obj, keys->pdata[i])));
    }
    return qjson_take_object(out);
}

/* One member at @depth (1: four blanks) and what it holds. */
static void specific_dump_member(FILE *out, int depth, const char *name,
                                 JsonNode *member)
{
    g_autofree char *key = g_strdup(name);

    g_strdelimit(key, "-", ' ');
    if (JSON_NODE_HOLDS_OBJECT(member)) {
        JsonObjectIter iter;
        const char *n;
        JsonNode *m;

        fprintf(out, "%*s%s:\n", depth * 4, "", key);
        json_object_iter_init_ordered(&iter, json_node_get_object(member));
        while (json_object_iter_next_ordered(&iter, &n, &m)) {
            specific_dump_member(out, depth + 1, n, m);
        }
    } else if (JSON_NODE_HOLDS_ARRAY(member)) {
        JsonArray *a = json_node_get_array(member);
        guint i;

        fprintf(out, "%*s%s:\n", depth * 4, "", key);
        for (i = 0; i < json_array_get_length(a); i++) {
            g_autofree char *idx = g_strdup_printf("[%u]", i);

            specific_dump_member(out, depth + 1, idx,
                                 json_array_get_element(a, i));
        }
    } else if (json_node_get_value_type(member) == G_TYPE_STRING) {
        fprintf(out, "%*s%s: %s\n", depth * 4, "", key,
                json_node_get_string(member));
    } else {
        g_autofree char *val = json_writer_to_string(member, false);

        fprintf(out, "%*s%s: %s\n", depth * 4, "", key, val);
    }
}

void bdrv_image_info_specific_dump(ImageInfoSpecific *spec, FILE *out)
{
    JsonObject *obj = json_object_new();
    g_autoptr(JsonNode) node = NULL;
    g_autoptr(JsonNode) sorted = NULL;
    JsonObject *data;
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;

    qapi_output_ImageInfoSpecific_members(obj, spec);
    node = qjson_take_object(obj);
    sorted = bdrv_image_info_reorder(node);
    data = json_object_get_object_member(json_node_get_object(sorted),
                                         "data");
    if (!data) {
        return;
    }
    json_object_iter_init_ordered(&iter, data);
    while (json_object_iter_next_ordered(&iter, &name, &member)) {
        specific_dump_member(out, 1, name, member);
    }
}
