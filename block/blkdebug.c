/*
 * blkdebug.c: the blkdebug filter driver, for error injection in tests.
 *
 * A blkdebug node passes every request through to its "image" child,
 * unless a rule says it should fail.  Rules hang on debug events
 * (BlkdebugEvent), which the layer above fires through its child edge
 * (BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO) in raw) and which io.c fires
 * on the node it works on (pwritev, flush_to_disk, ...):
 *
 *  - a set-state rule, when its event fires in its state (0: any),
 *    switches the node to new_state;
 *  - an inject-error rule, when its event fires in its state, becomes
 *    active.  The first event of a round that activates any rule drops
 *    the rules active before, so only the newest round is active.
 *
 * Every data-path request then looks through the active rules, newest
 * first, for the first one whose request type (iotype mask) matches and
 * whose sector, if any, lies in the request.  That rule decides: with
 * errno 0 the request goes through, else it fails with -errno, after a
 * trip through the AioContext unless "immediately" is set; a "once"
 * rule is deleted when it has failed a request.  All states compare
 * with the state as it was when the event fired: the rules of one event
 * see the same state, and the last set-state among them wins.
 *
 * Worked example: inject-error event=read_aio errno=5 once=on under a
 * raw node.  Opening fires nothing that matters; a read of the raw node
 * fires read_aio on this node, so the rule becomes active and the read
 * that follows at once (the same one) fails with -EIO and deletes the
 * rule; the next read fires read_aio again, finds no rule, and succeeds.
 *
 * The node's state starts at 1.  Rules are QEMU 7.2's, from the options
 * and from a config file in QEMU's INI format ([inject-error] and
 * [set-state] groups of key = "value" lines); rules are kept per event in
 * the reverse of the order they were given, as QEMU keeps them.
 * QEMU's suspend/resume breakpoints (qemu-io's break, resume) are not
 * here.  Everything is per node and runs in the node's AioContext, so no
 * lock is needed.
 */
#include "qemu/osdep.h"

#include <stdio.h>

#include "block/block_int.h"
#include "qapi/error.h"
#include "qapi/util.h"
#include "trace.h"

/* The iotypes a rule without iotype fails: all but block-status. */
#define BLKDEBUG_DEFAULT_IOTYPES                        \
    ((1ull << BLKDEBUG_IO_TYPE_READ) |                  \
     (1ull << BLKDEBUG_IO_TYPE_WRITE) |                 \
     (1ull << BLKDEBUG_IO_TYPE_WRITE_ZEROES) |          \
     (1ull << BLKDEBUG_IO_TYPE_DISCARD) |               \
     (1ull << BLKDEBUG_IO_TYPE_FLUSH))

typedef enum BlkdebugAction {
    BLKDEBUG_ACTION_INJECT_ERROR,
    BLKDEBUG_ACTION_SET_STATE,
} BlkdebugAction;

typedef struct BlkdebugRule {
    BlkdebugEvent event;
    BlkdebugAction action;
    /* The state the rule applies in; 0 for any. */
    int64_t state;
    /* inject-error */
    uint64_t iotype_mask;
    int error;
    bool once;
    bool immediately;
    /* The byte offset of the rule's sector, or -1 for any request. */
    int64_t offset;
    /* set-state */
    int64_t new_state;
    /* In s->rules[event], newest first. */
    QLIST_ENTRY(BlkdebugRule) next;
    /* In s->active_rules while active. */
    QSIMPLEQ_ENTRY(BlkdebugRule) active_next;
} BlkdebugRule;

typedef struct BDRVBlkdebugState {
    int64_t state;
    QLIST_HEAD(, BlkdebugRule) rules[BLKDBG__MAX];
    QSIMPLEQ_HEAD(, BlkdebugRule) active_rules;

    /* Limit overrides; 0 keeps what block.c computed. */
    uint64_t align;
    uint64_t max_transfer;
    uint64_t opt_write_zero;
    uint64_t max_write_zero;
    uint64_t opt_discard;
    uint64_t max_discard;
    /* BLK_PERM_* added to / withheld from the child's permissions. */
    uint64_t take_child_perms;
    uint64_t unshare_child_perms;

    /* For the filename: the config file, and whether other options were
     * given (a plain "blkdebug:config:image" name says nothing of them). */
    char *config_file;
    bool has_other_options;
    /* The limit options given, even as 0 (the filename shows them). */
    bool has_align;
    bool has_max_transfer;
    bool has_opt_write_zero;
    bool has_max_write_zero;
    bool has_opt_discard;
    bool has_max_discard;
} BDRVBlkdebugState;

/*
 * Rules as given, before they are checked and added: the options' and
 * the config file's members, as QEMU's QemuOpts keep them.
 */
typedef struct BlkdebugRuleSpec {
    BlkdebugAction action;
    /* Strings from a config file ("" when given but empty). */
    char *event;
    char *iotype;
    /* Parsed values, and whether they were given. */
    bool has_event_value;
    BlkdebugEvent event_value;
    bool has_iotype_value;
    BlkdebugIOType iotype_value;
    int64_t state;
    int64_t error;
    int64_t sector;
    bool once;
    bool immediately;
    int64_t new_state;
} BlkdebugRuleSpec;

static void blkdebug_rule_spec_free(gpointer p)
{
    BlkdebugRuleSpec *spec = p;

    g_free(spec->event);
    g_free(spec->iotype);
    g_free(spec);
}

static BlkdebugRuleSpec *blkdebug_rule_spec_new(BlkdebugAction action)
{
    BlkdebugRuleSpec *spec = g_new0(BlkdebugRuleSpec, 1);

    spec->action = action;
    spec->error = EIO;
    spec->sector = -1;
    return spec;
}

/*
 * Config files
 */

/* A number as QEMU's option parser reads it (any base, may wrap). */
static bool blkdebug_parse_number(const char *name, const char *value,
                                  int64_t *out, Error **errp)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(value, &end, 0);
    if (!*value || *end || errno) {
        error_setg(errp, "Parameter '%s' expects a number", name);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

/* Store one key = "value" of a config group in @spec; QEMU's texts. */
static bool blkdebug_spec_set(BlkdebugRuleSpec *spec, const char *key,
                              const char *value, Error **errp)
{
    bool inject = spec->action == BLKDEBUG_ACTION_INJECT_ERROR;

    if (!strcmp(key, "event")) {
        g_free(spec->event);
        spec->event = g_strdup(value);
        return true;
    }
    if (!strcmp(key, "state")) {
        return blkdebug_parse_number(key, value, &spec->state, errp);
    }
    if (inject && !strcmp(key, "iotype")) {
        g_free(spec->iotype);
        spec->iotype = g_strdup(value);
        return true;
    }
    if (inject && !strcmp(key, "errno")) {
        return blkdebug_parse_number(key, value, &spec->error, errp);
    }
    if (inject && !strcmp(key, "sector")) {
        return blkdebug_parse_number(key, value, &spec->sector, errp);
    }
    if (inject && !strcmp(key, "once")) {
        return qapi_bool_parse(key, value, &spec->once, errp);
    }
    if (inject && !strcmp(key, "immediately")) {
        return qapi_bool_parse(key, value, &spec->immediately, errp);
    }
    if (!inject && !strcmp(key, "new_state")) {
        return blkdebug_parse_number(key, value, &spec->new_state, errp);
    }
    error_setg(errp, "Invalid parameter '%s'", key);
    return false;
}

/*
 * Read a group header "[name]" or "[name "id"]" from @line; false if
 * the line is not one.  As QEMU's parser, the '[' must be the first
 * character.
 */
static bool blkdebug_parse_group(const char *line, char **group)
{
    const char *end;

    if (line[0] != '[') {
        return false;
    }
    line++;
    /* [name "id"]: the name ends at white space. */
    end = line + strcspn(line, " \t\n\r\f\v");
    if (*end && end > line && end - line <= 63) {
        const char *p = end + strspn(end, " \t\n\r\f\v");

        if (*p == '"' && p[1] && p[1] != '"' && strchr(p + 1, '"')) {
            *group = g_strndup(line, end - line);
            return true;
        }
    }
    /* [name]: anything up to the first ']', which must be there. */
    end = strchr(line, ']');
    if (!end || end == line || end - line > 63) {
        return false;
    }
    *group = g_strndup(line, end - line);
    return true;
}

/*
 * Read key = "value" from @line the way QEMU's sscanf patterns do: the
 * key is the first word, and a line whose rest does not fit gives an
 * empty value rather than an error.  False for a line with no word.
 */
static bool blkdebug_parse_key_value(const char *line, char **key,
                                     char **value)
{
    const char *p = line + strspn(line, " \t\n\r\f\v");
    size_t n = strcspn(p, " \t\n\r\f\v");
    const char *q;

    if (!n) {
        return false;
    }
    *key = g_strndup(p, MIN(n, 63));
    p += MIN(n, 63);
    p += strspn(p, " \t\n\r\f\v");
    if (*p == '=') {
        p++;
        p += strspn(p, " \t\n\r\f\v");
        if (*p == '"') {
            p++;
            q = strchr(p, '"');
            n = q ? (size_t)(q - p) : strcspn(p, "\n");
            *value = g_strndup(p, MIN(n, 1023));
            return true;
        }
    }
    *value = g_strdup("");
    return true;
}

/* Read the rules of config file @filename into @specs. */
static bool blkdebug_read_config(const char *filename, GPtrArray *specs,
                                 Error **errp)
{
    g_autoptr(GPtrArray) injects =
        g_ptr_array_new_with_free_func(blkdebug_rule_spec_free);
    g_autoptr(GPtrArray) states =
        g_ptr_array_new_with_free_func(blkdebug_rule_spec_free);
    BlkdebugRuleSpec *cur = NULL;
    bool have_group = false;
    char line[1024];
    FILE *f;
    bool ok = true;

    f = fopen(filename, "r");
    if (!f) {
        error_setg_errno(errp, errno, "Could not read blkdebug config file");
        return false;
    }
    while (ok && fgets(line, sizeof(line), f)) {
        g_autofree char *group = NULL;
        g_autofree char *key = NULL;
        g_autofree char *value = NULL;

        if (line[0] == '\n' || line[0] == '#') {
            continue;
        }
        if (blkdebug_parse_group(line, &group)) {
            if (!strcmp(group, "inject-error")) {
                cur = blkdebug_rule_spec_new(BLKDEBUG_ACTION_INJECT_ERROR);
                g_ptr_array_add(injects, cur);
            } else if (!strcmp(group, "set-state")) {
                cur = blkdebug_rule_spec_new(BLKDEBUG_ACTION_SET_STATE);
                g_ptr_array_add(states, cur);
            } else {
                error_setg(errp, "There is no option group '%s'", group);
                ok = false;
            }
            have_group = true;
            continue;
        }
        if (!blkdebug_parse_key_value(line, &key, &value)) {
            error_setg(errp, "parse error");
            ok = false;
        } else if (!have_group) {
            error_setg(errp, "no group defined");
            ok = false;
        } else {
            ok = blkdebug_spec_set(cur, key, value, errp);
        }
    }
    fclose(f);
    if (!ok) {
        return false;
    }
    /* QEMU adds all inject-error rules before all set-state rules. */
    while (injects->len) {
        g_ptr_array_add(specs, g_ptr_array_steal_index(injects, 0));
    }
    while (states->len) {
        g_ptr_array_add(specs, g_ptr_array_steal_index(states, 0));
    }
    return true;
}

/*
 * Rules
 */

/* Check @spec and add it to its event's list (newest first). */
static bool blkdebug_add_rule(BDRVBlkdebugState *s, BlkdebugRuleSpec *spec,
                              Error **errp)
{
    BlkdebugRule *rule;
    int event;
    int iotype = BLKDEBUG_IO_TYPE__MAX;

    if (spec->has_event_value) {
        event = spec->event_value;
    } else {
        if (!spec->event) {
            error_setg(errp, "Missing event name for rule");
            return false;
        }
        event = qapi_enum_parse(&BlkdebugEvent_lookup, spec->event, -1, errp);
        if (event < 0) {
            return false;
        }
    }
    if (spec->action == BLKDEBUG_ACTION_INJECT_ERROR) {
        if (spec->has_iotype_value) {
            iotype = spec->iotype_value;
        } else if (spec->iotype) {
            Error *local_err = NULL;

            iotype = qapi_enum_parse(&BlkdebugIOType_lookup, spec->iotype,
                                     BLKDEBUG_IO_TYPE__MAX, &local_err);
            if (local_err) {
                error_propagate(errp, local_err);
                return false;
            }
        }
    }

    rule = g_new0(BlkdebugRule, 1);
    rule->event = event;
    rule->action = spec->action;
    rule->state = spec->state;
    if (spec->action == BLKDEBUG_ACTION_INJECT_ERROR) {
        rule->iotype_mask = iotype == BLKDEBUG_IO_TYPE__MAX
                            ? BLKDEBUG_DEFAULT_IOTYPES : 1ull << iotype;
        rule->error = (int)spec->error;
        rule->once = spec->once;
        rule->immediately = spec->immediately;
        rule->offset = spec->sector == -1 ? -1
                       : (int64_t)((uint64_t)spec->sector * BDRV_SECTOR_SIZE);
    } else {
        rule->new_state = spec->new_state;
    }
    QLIST_INSERT_HEAD(&s->rules[event], rule, next);
    return true;
}

static void blkdebug_remove_rule(BlkdebugRule *rule)
{
    QLIST_REMOVE(rule, next);
    g_free(rule);
}

/* The rules of the options, config file first, inject-error first. */
static bool blkdebug_collect_rules(BlockdevOptionsBlkdebug *o,
                                   GPtrArray *specs, Error **errp)
{
    g_autoptr(GPtrArray) states =
        g_ptr_array_new_with_free_func(blkdebug_rule_spec_free);
    g_autoptr(GPtrArray) file_specs =
        g_ptr_array_new_with_free_func(blkdebug_rule_spec_free);
    BlkdebugInjectErrorOptionsList *ie;
    BlkdebugSetStateOptionsList *ss;
    guint i;

    if (o->config && !blkdebug_read_config(o->config, file_specs, errp)) {
        return false;
    }
    /* The file's inject-error rules, then the options', then set-state. */
    for (i = 0; i < file_specs->len; i++) {
        BlkdebugRuleSpec *spec = g_ptr_array_index(file_specs, i);

        g_ptr_array_add(spec->action == BLKDEBUG_ACTION_INJECT_ERROR
                        ? specs : states, spec);
    }
    g_ptr_array_set_free_func(file_specs, NULL);
    for (ie = o->inject_error; ie; ie = ie->next) {
        BlkdebugInjectErrorOptions *r = ie->value;
        BlkdebugRuleSpec *spec =
            blkdebug_rule_spec_new(BLKDEBUG_ACTION_INJECT_ERROR);

        spec->has_event_value = true;
        spec->event_value = r->event;
        spec->has_iotype_value = r->has_iotype;
        spec->iotype_value = r->iotype;
        spec->state = r->has_state ? r->state : 0;
        spec->error = r->has_q_errno ? r->q_errno : EIO;
        spec->sector = r->has_sector ? r->sector : -1;
        spec->once = r->has_once && r->once;
        spec->immediately = r->has_immediately && r->immediately;
        g_ptr_array_add(specs, spec);
    }
    for (i = 0; i < states->len; i++) {
        g_ptr_array_add(specs, g_ptr_array_index(states, i));
    }
    g_ptr_array_set_free_func(states, NULL);
    for (ss = o->set_state; ss; ss = ss->next) {
        BlkdebugSetStateOptions *r = ss->value;
        BlkdebugRuleSpec *spec =
            blkdebug_rule_spec_new(BLKDEBUG_ACTION_SET_STATE);

        spec->has_event_value = true;
        spec->event_value = r->event;
        spec->state = r->has_state ? r->state : 0;
        spec->new_state = r->new_state;
        g_ptr_array_add(specs, spec);
    }
    return true;
}

/*
 * Open and close
 */

static uint64_t blkdebug_perm_mask(BlockPermissionList *list)
{
    static const uint64_t perm[BLOCK_PERMISSION__MAX] = {
        [BLOCK_PERMISSION_CONSISTENT_READ] = BLK_PERM_CONSISTENT_READ,
        [BLOCK_PERMISSION_WRITE] = BLK_PERM_WRITE,
        [BLOCK_PERMISSION_WRITE_UNCHANGED] = BLK_PERM_WRITE_UNCHANGED,
        [BLOCK_PERMISSION_RESIZE] = BLK_PERM_RESIZE,
    };
    uint64_t mask = 0;

    for (; list; list = list->next) {
        mask |= perm[list->value];
    }
    return mask;
}

/*
 * QEMU reads the limits as sizes: a negative one is refused with the
 * size parser's message before anything else is looked at.
 */
static bool blkdebug_get_size(const char *name, bool has, int64_t value,
                              uint64_t *out, Error **errp)
{
    if (has && value < 0) {
        error_setg(errp, "Parameter '%s' expects a non-negative number "
                   "below 2^64", name);
        return false;
    }
    *out = has ? (uint64_t)value : 0;
    return true;
}

/* A limit must be below INT_MAX and a multiple of @align; QEMU's text. */
static bool blkdebug_check_limit(const char *name, uint64_t value,
                                 uint64_t align, Error **errp)
{
    if (value && (value >= INT_MAX || !QEMU_IS_ALIGNED(value, align))) {
        error_setg(errp, "Cannot meet constraints with %s %" PRIu64,
                   name, value);
        return false;
    }
    return true;
}

static void blkdebug_free_rules(BDRVBlkdebugState *s)
{
    BlkdebugRule *rule, *next;
    int i;

    for (i = 0; i < BLKDBG__MAX; i++) {
        QLIST_FOREACH_SAFE(rule, &s->rules[i], next, next) {
            blkdebug_remove_rule(rule);
        }
    }
    QSIMPLEQ_INIT(&s->active_rules);
}

static int blkdebug_open(BlockDriverState *bs, BlockdevOptions *options,
                         int flags, Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlockdevOptionsBlkdebug *o;
    g_autoptr(GPtrArray) specs =
        g_ptr_array_new_with_free_func(blkdebug_rule_spec_free);
    BlockDriverState *child;
    uint64_t align;
    guint i;

    QSIMPLEQ_INIT(&s->active_rules);
    if (!options) {
        error_setg(errp, "Parameter 'image' is missing");
        return -EINVAL;
    }
    o = &options->u.blkdebug;

    /* QEMU's order: option types, rules, permissions, child, limits. */
    if (!blkdebug_get_size("align", o->has_align, o->align, &s->align,
                           errp) ||
        !blkdebug_get_size("max-transfer", o->has_max_transfer,
                           o->max_transfer, &s->max_transfer, errp) ||
        !blkdebug_get_size("opt-write-zero", o->has_opt_write_zero,
                           o->opt_write_zero, &s->opt_write_zero, errp) ||
        !blkdebug_get_size("max-write-zero", o->has_max_write_zero,
                           o->max_write_zero, &s->max_write_zero, errp) ||
        !blkdebug_get_size("opt-discard", o->has_opt_discard,
                           o->opt_discard, &s->opt_discard, errp) ||
        !blkdebug_get_size("max-discard", o->has_max_discard,
                           o->max_discard, &s->max_discard, errp)) {
        return -EINVAL;
    }
    if (!blkdebug_collect_rules(o, specs, errp)) {
        return -EINVAL;
    }
    for (i = 0; i < specs->len; i++) {
        if (!blkdebug_add_rule(s, g_ptr_array_index(specs, i), errp)) {
            blkdebug_free_rules(s);
            return -EINVAL;
        }
    }
    s->state = 1;
    s->config_file = g_strdup(o->config);
    s->has_other_options = o->has_align || o->has_max_transfer ||
                           o->has_opt_write_zero || o->has_max_write_zero ||
                           o->has_opt_discard || o->has_max_discard ||
                           o->inject_error || o->set_state;
    s->has_align = o->has_align;
    s->has_max_transfer = o->has_max_transfer;
    s->has_opt_write_zero = o->has_opt_write_zero;
    s->has_max_write_zero = o->has_max_write_zero;
    s->has_opt_discard = o->has_opt_discard;
    s->has_max_discard = o->has_max_discard;
    s->take_child_perms = blkdebug_perm_mask(o->take_child_perms);
    s->unshare_child_perms = blkdebug_perm_mask(o->unshare_child_perms);

    if (!bdrv_open_child(o->image, bs, "image",
                         BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, errp)) {
        goto fail;
    }
    child = bs->file->bs;
    bs->supported_write_flags = BDRV_REQ_FUA & child->supported_write_flags;
    bs->supported_zero_flags = (BDRV_REQ_FUA | BDRV_REQ_MAY_UNMAP |
                                BDRV_REQ_NO_FALLBACK) &
                               child->supported_zero_flags;

    if (s->align && (s->align >= INT_MAX || !is_power_of_2(s->align))) {
        error_setg(errp, "Cannot meet constraints with align %" PRIu64,
                   s->align);
        goto fail;
    }
    align = MAX(s->align, (uint64_t)child->bl.request_alignment);
    if (!blkdebug_check_limit("max-transfer", s->max_transfer, align,
                              errp) ||
        !blkdebug_check_limit("opt-write-zero", s->opt_write_zero, align,
                              errp) ||
        !blkdebug_check_limit("max-write-zero", s->max_write_zero,
                              MAX(s->opt_write_zero, align), errp) ||
        !blkdebug_check_limit("opt-discard", s->opt_discard, align, errp) ||
        !blkdebug_check_limit("max-discard", s->max_discard,
                              MAX(s->opt_discard, align), errp)) {
        goto fail;
    }
    if (s->align) {
        bs->bl.request_alignment = s->align;
    }

    /* Rules on "none" fire once, now. */
    bdrv_debug_event(bs, BLKDBG_NONE);
    return 0;

fail:
    blkdebug_free_rules(s);
    g_free(s->config_file);
    s->config_file = NULL;
    return -EINVAL;
}

static void blkdebug_close(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = bs->opaque;

    blkdebug_free_rules(s);
    g_free(s->config_file);
}

/*
 * Events and injection
 */

static void blkdebug_debug_event(BlockDriverState *bs, BlkdebugEvent event)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule, *next;
    int64_t new_state = s->state;
    bool injected = false;

    assert((int)event >= 0 && event < BLKDBG__MAX);
    QLIST_FOREACH_SAFE(rule, &s->rules[event], next, next) {
        if (rule->state && rule->state != s->state) {
            continue;
        }
        if (rule->action == BLKDEBUG_ACTION_SET_STATE) {
            new_state = rule->new_state;
            continue;
        }
        if (!injected) {
            /* This event's rules replace those of earlier events. */
            QSIMPLEQ_INIT(&s->active_rules);
            injected = true;
        }
        QSIMPLEQ_INSERT_HEAD(&s->active_rules, rule, active_next);
    }
    trace_blkdebug_debug_event(bs, BlkdebugEvent_str(event), s->state,
                               new_state);
    s->state = new_state;
}

/*
 * Fail the request if an active rule says so: 0 to go on, else the
 * rule's -errno (after a round through the AioContext unless the rule
 * says "immediately").  A request of 0 bytes (flush) only matches rules
 * without a sector.
 */
static int coroutine_fn blkdebug_rule_check(BlockDriverState *bs,
                                            uint64_t offset, uint64_t bytes,
                                            BlkdebugIOType iotype)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule;
    bool immediately;
    int error;

    QSIMPLEQ_FOREACH(rule, &s->active_rules, active_next) {
        uint64_t at = rule->offset;

        if ((rule->offset == -1 ||
             (bytes && at >= offset && at < offset + bytes)) &&
            (rule->iotype_mask & (1ull << iotype))) {
            break;
        }
    }
    if (!rule || !rule->error) {
        return 0;
    }
    error = rule->error;
    immediately = rule->immediately;
    trace_blkdebug_inject_error(bs, BlkdebugIOType_str(iotype), offset,
                                bytes, error, rule->once, immediately);
    if (rule->once) {
        QSIMPLEQ_REMOVE(&s->active_rules, rule, BlkdebugRule, active_next);
        blkdebug_remove_rule(rule);
    }
    if (!immediately) {
        aio_co_schedule(qemu_get_current_aio_context(),
                        qemu_coroutine_self());
        qemu_coroutine_yield();
    }
    return -error;
}

/*
 * The data path
 */

static int coroutine_fn blkdebug_co_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    int ret;

    trace_blkdebug_co_preadv(bs, offset, bytes, flags);
    assert(QEMU_IS_ALIGNED(offset, bs->bl.request_alignment));
    assert(QEMU_IS_ALIGNED(bytes, bs->bl.request_alignment));
    assert(!bs->bl.max_transfer || bytes <= bs->bl.max_transfer);
    ret = blkdebug_rule_check(bs, offset, bytes, BLKDEBUG_IO_TYPE_READ);
    if (ret) {
        return ret;
    }
    return bdrv_co_preadv(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    int ret;

    trace_blkdebug_co_pwritev(bs, offset, bytes, flags);
    assert(QEMU_IS_ALIGNED(offset, bs->bl.request_alignment));
    assert(QEMU_IS_ALIGNED(bytes, bs->bl.request_alignment));
    assert(!bs->bl.max_transfer || bytes <= bs->bl.max_transfer);
    ret = blkdebug_rule_check(bs, offset, bytes, BLKDEBUG_IO_TYPE_WRITE);
    if (ret) {
        return ret;
    }
    return bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwrite_zeroes(BlockDriverState *bs,
                                                  int64_t offset,
                                                  int64_t bytes,
                                                  BdrvRequestFlags flags)
{
    uint32_t align = MAX(bs->bl.request_alignment,
                         bs->bl.pwrite_zeroes_alignment);
    int ret;

    trace_blkdebug_co_pwrite_zeroes(bs, offset, bytes, flags);
    /*
     * As QEMU: a zero write smaller than the zero alignment is refused,
     * so that tests exercise io.c's fallback to a write of zeroes.
     */
    if (bytes < align) {
        return -ENOTSUP;
    }
    assert(QEMU_IS_ALIGNED(offset, align));
    assert(QEMU_IS_ALIGNED(bytes, align));
    assert(!bs->bl.max_pwrite_zeroes || bytes <= bs->bl.max_pwrite_zeroes);
    ret = blkdebug_rule_check(bs, offset, bytes,
                              BLKDEBUG_IO_TYPE_WRITE_ZEROES);
    if (ret) {
        return ret;
    }
    return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static int coroutine_fn blkdebug_co_pdiscard(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes)
{
    int ret;

    trace_blkdebug_co_pdiscard(bs, offset, bytes);
    assert(QEMU_IS_ALIGNED(offset, bs->bl.request_alignment));
    assert(QEMU_IS_ALIGNED(bytes, bs->bl.request_alignment));
    assert(!bs->bl.max_pdiscard || bytes <= bs->bl.max_pdiscard);
    ret = blkdebug_rule_check(bs, offset, bytes, BLKDEBUG_IO_TYPE_DISCARD);
    if (ret) {
        return ret;
    }
    return bdrv_co_pdiscard(bs->file, offset, bytes);
}

/* Only the injection: io.c flushes the child right after. */
static int coroutine_fn blkdebug_co_flush(BlockDriverState *bs)
{
    trace_blkdebug_co_flush(bs);
    return blkdebug_rule_check(bs, 0, 0, BLKDEBUG_IO_TYPE_FLUSH);
}

static int coroutine_fn blkdebug_co_block_status(BlockDriverState *bs,
                                                 bool want_zero,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 int64_t *pnum,
                                                 int64_t *map,
                                                 BlockDriverState **file)
{
    int ret;

    trace_blkdebug_co_block_status(bs, offset, bytes);
    ret = blkdebug_rule_check(bs, offset, bytes,
                              BLKDEBUG_IO_TYPE_BLOCK_STATUS);
    if (ret) {
        return ret;
    }
    *pnum = bytes;
    *map = offset;
    *file = bs->file->bs;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

/*
 * Limits, permissions, filename
 */

static void blkdebug_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;

    if (s->align) {
        bs->bl.request_alignment = s->align;
    }
    if (s->max_transfer) {
        bs->bl.max_transfer = s->max_transfer;
    }
    if (s->opt_write_zero) {
        bs->bl.pwrite_zeroes_alignment = s->opt_write_zero;
    }
    if (s->max_write_zero) {
        bs->bl.max_pwrite_zeroes = s->max_write_zero;
    }
    if (s->opt_discard) {
        bs->bl.pdiscard_alignment = s->opt_discard;
    }
    if (s->max_discard) {
        bs->bl.max_pdiscard = s->max_discard;
    }
}

static void blkdebug_child_perm(BlockDriverState *bs, BdrvChild *c,
                                BdrvChildRole role, uint64_t perm,
                                uint64_t shared, uint64_t *nperm,
                                uint64_t *nshared)
{
    BDRVBlkdebugState *s = bs->opaque;

    bdrv_default_perms(bs, c, role, perm, shared, nperm, nshared);
    *nperm |= s->take_child_perms;
    *nshared &= ~s->unshare_child_perms;
}

/*
 * "blkdebug:<config>:<image>" as QEMU names a node whose only options
 * are the config file and a child with a plain name; else a json:
 * filename.  QEMU prints the json: members in a hash table's order; this
 * one is what qemu-storage-daemon 7.2 prints for "align" alone, and the
 * same shape for the rest.
 */
static void blkdebug_refresh_filename(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlockDriverState *child = bs->file->bs;
    g_autoptr(GString) json = NULL;

    if (!s->has_other_options && !g_str_has_prefix(child->filename,
                                                   "json:")) {
        g_autofree char *name = g_strdup_printf(
            "blkdebug:%s:%s", s->config_file ? s->config_file : "",
            child->filename);

        g_strlcpy(bs->filename, name, sizeof(bs->filename));
        return;
    }
    json = g_string_new("json:{\"image\": ");
    if (g_str_has_prefix(child->filename, "json:")) {
        g_string_append(json, child->filename + strlen("json:"));
    } else if (child->drv && child->drv->protocol_name &&
               !strcmp(child->drv->format_name, "file")) {
        g_autofree char *name = g_strescape(child->filename, NULL);

        g_string_append_printf(json, "{\"driver\": \"file\", "
                               "\"filename\": \"%s\"}", name);
    } else {
        g_string_append_printf(json, "{\"driver\": \"%s\"}",
                               bdrv_get_format_name(child));
    }
    if (s->config_file) {
        g_autofree char *name = g_strescape(s->config_file, NULL);

        g_string_append_printf(json, ", \"config\": \"%s\"", name);
    }
    g_string_append(json, ", \"driver\": \"blkdebug\"");
    if (s->has_align) {
        g_string_append_printf(json, ", \"align\": %" PRIu64, s->align);
    }
    if (s->has_max_transfer) {
        g_string_append_printf(json, ", \"max-transfer\": %" PRIu64,
                               s->max_transfer);
    }
    if (s->has_opt_write_zero) {
        g_string_append_printf(json, ", \"opt-write-zero\": %" PRIu64,
                               s->opt_write_zero);
    }
    if (s->has_max_write_zero) {
        g_string_append_printf(json, ", \"max-write-zero\": %" PRIu64,
                               s->max_write_zero);
    }
    if (s->has_opt_discard) {
        g_string_append_printf(json, ", \"opt-discard\": %" PRIu64,
                               s->opt_discard);
    }
    if (s->has_max_discard) {
        g_string_append_printf(json, ", \"max-discard\": %" PRIu64,
                               s->max_discard);
    }
    g_string_append_c(json, '}');
    g_strlcpy(bs->filename, json->str, sizeof(bs->filename));
}

BlockDriver bdrv_blkdebug = {
    .format_name            = "blkdebug",
    .protocol_name          = "blkdebug",
    .instance_size          = sizeof(BDRVBlkdebugState),
    .bdrv_open              = blkdebug_open,
    .bdrv_close             = blkdebug_close,
    .bdrv_co_preadv         = blkdebug_co_preadv,
    .bdrv_co_pwritev        = blkdebug_co_pwritev,
    .bdrv_co_pwrite_zeroes  = blkdebug_co_pwrite_zeroes,
    .bdrv_co_pdiscard       = blkdebug_co_pdiscard,
    .bdrv_co_flush          = blkdebug_co_flush,
    .bdrv_co_block_status   = blkdebug_co_block_status,
    .bdrv_refresh_limits    = blkdebug_refresh_limits,
    .bdrv_refresh_filename  = blkdebug_refresh_filename,
    .bdrv_child_perm        = blkdebug_child_perm,
    .bdrv_debug_event       = blkdebug_debug_event,
};
