"""Shape checks of each definition on its own.

Before the schema is built, every expression is checked for what can be
told without looking at other definitions: the meta-type key, the allowed
keys, the naming rules, the form of 'data', 'if' and 'features'.  Member
lists are normalized on the way: "'*x': 'int'" becomes
{'x': {'type': 'int', 'optional': ...}} form in schema.py, and every
feature or enum value becomes a dict with a 'name'.
"""

import re

from .common import c_name
from .error import QAPISemError

# A name is letters, digits, '-' and '_', starting with a letter; 'x-'
# marks an experimental name and '__RFQDN_' a downstream extension.
_VALID_NAME = re.compile(r'(__[a-z0-9.-]+_)?(x-)?([a-z][a-z0-9_-]*)$',
                         re.IGNORECASE)

META_KEYS = ('enum', 'struct', 'union', 'alternate', 'command', 'event')


def check_name_is_str(name, info, source):
    if not isinstance(name, str):
        raise QAPISemError(info, "%s requires a string name" % source)


def check_name_str(name, info, source):
    """Check the general form of @name; return its stem (without the
    'x-' and '__RFQDN_' prefixes)."""
    match = _VALID_NAME.match(name)
    # The 'q_' namespace is the generator's (q_empty, q_obj_*).
    if not match or c_name(name, False).startswith('q_'):
        raise QAPISemError(info, "%s has an invalid name" % source)
    return match.group(3)


def check_name_upper(name, info, source):
    stem = check_name_str(name, info, source)
    if re.search(r'[a-z-]', stem):
        raise QAPISemError(
            info, "name of %s must not use lowercase or '-'" % source)


def check_name_lower(name, info, source, permit_upper=False,
                     permit_underscore=False):
    stem = check_name_str(name, info, source)
    if ((not permit_upper and re.search(r'[A-Z]', stem))
            or (not permit_underscore and '_' in stem)):
        raise QAPISemError(
            info, "name of %s must not use uppercase or '_'" % source)


def check_name_camel(name, info, source):
    stem = check_name_str(name, info, source)
    if not re.match(r'[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$', stem):
        raise QAPISemError(info, "name of %s must use CamelCase" % source)


def check_defn_name(name, info, meta):
    if meta == 'event':
        check_name_upper(name, info, meta)
    elif meta == 'command':
        check_name_lower(
            name, info, meta,
            permit_underscore=name in info.pragma.command_name_exceptions)
    else:
        check_name_camel(name, info, meta)
        if name.endswith('List') or name.endswith('Kind'):
            raise QAPISemError(
                info, "%s name should not end in '%s'" % (meta, name[-4:]))


def check_keys(value, info, source, required, optional):
    def pprint(elems):
        return ', '.join("'" + e + "'" for e in sorted(elems))

    missing = [k for k in required if k not in value]
    if missing:
        raise QAPISemError(
            info, "%s misses key%s %s"
            % (source, 's' if len(missing) > 1 else '', pprint(missing)))
    allowed = set(required) | set(optional)
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise QAPISemError(
            info, "%s has unknown key%s %s\nValid keys are %s."
            % (source, 's' if len(unknown) > 1 else '', pprint(unknown),
               pprint(allowed)))


def check_flags(expr, info):
    for key in ('gen', 'success-response'):
        if key in expr and expr[key] is not False:
            raise QAPISemError(
                info, "flag '%s' may only use false value" % key)
    for key in ('boxed', 'allow-oob', 'allow-preconfig', 'coroutine'):
        if key in expr and expr[key] is not True:
            raise QAPISemError(
                info, "flag '%s' may only use true value" % key)
    if 'allow-oob' in expr and 'coroutine' in expr:
        raise QAPISemError(
            info, "flags 'allow-oob' and 'coroutine' are incompatible")


def check_if(expr, info, source):
    """Check the 'if' key of @expr, if any."""

    def check(cond):
        if isinstance(cond, str):
            if not re.match(r'[A-Z][A-Z0-9_]*$', cond):
                raise QAPISemError(
                    info, "'if' condition '%s' of %s is not a valid "
                    "identifier" % (cond, source))
            return
        if not isinstance(cond, dict):
            raise QAPISemError(
                info, "'if' condition of %s must be a string or an object"
                % source)
        check_keys(cond, info, "'if' condition of %s" % source, [],
                   ['all', 'any', 'not'])
        if len(cond) != 1:
            raise QAPISemError(
                info, "'if' condition of %s has conflicting keys" % source)
        if 'not' in cond:
            check(cond['not'])
            return
        op = 'all' if 'all' in cond else 'any'
        operands = cond[op]
        if not isinstance(operands, list):
            raise QAPISemError(
                info, "'%s' condition of %s must be an array" % (op, source))
        if not operands:
            raise QAPISemError(
                info, "'if' condition [] of %s is useless" % source)
        for operand in operands:
            check(operand)

    if 'if' in expr:
        check(expr['if'])


def check_type_ref(value, info, source, allow_array=False):
    """A reference to a type: a name, or (with @allow_array) ['name']."""
    if isinstance(value, str):
        return
    if isinstance(value, list):
        if not allow_array:
            raise QAPISemError(info, "%s cannot be an array" % source)
        if len(value) != 1 or not isinstance(value[0], str):
            raise QAPISemError(
                info, "%s: array type must contain single type name" % source)
        return
    raise QAPISemError(info, "%s should be a type name" % source)


def check_members(value, info, source, defn_name, allow_dict=True):
    """'data' (or a dict 'base'): a type name or {'[*]name': type or
    {'type': ..., 'if': ..., 'features': ...}}."""
    if isinstance(value, str):
        return
    if isinstance(value, list):
        raise QAPISemError(info, "%s cannot be an array" % source)
    if not allow_dict:
        raise QAPISemError(info, "%s should be a type name" % source)
    if not isinstance(value, dict):
        raise QAPISemError(
            info, "%s should be an object or type name" % source)
    permit_upper = defn_name in info.pragma.member_name_exceptions
    for key, arg in value.items():
        key_source = "%s member '%s'" % (source, key)
        name = key[1:] if key.startswith('*') else key
        check_name_lower(name, info, key_source, permit_upper,
                         permit_underscore=permit_upper)
        if c_name(name, False) == 'u' or c_name(name, False).startswith(
                'has_'):
            raise QAPISemError(info, "%s uses reserved name" % key_source)
        arg = normalize_member(arg)
        value[key] = arg
        check_keys(arg, info, key_source, ['type'], ['if', 'features'])
        check_if(arg, info, key_source)
        check_features(arg.get('features'), info)
        check_type_ref(arg['type'], info, key_source, allow_array=True)


def normalize_member(arg):
    return arg if isinstance(arg, dict) else {'type': arg}


def check_features(features, info):
    if features is None:
        return
    if not isinstance(features, list):
        raise QAPISemError(info, "'features' must be an array")
    features[:] = [f if isinstance(f, dict) else {'name': f}
                   for f in features]
    for feat in features:
        source = "'features' member"
        check_keys(feat, info, source, ['name'], ['if'])
        check_name_is_str(feat['name'], info, source)
        source = "%s '%s'" % (source, feat['name'])
        check_name_lower(feat['name'], info, source)
        check_if(feat, info, source)


def check_enum(expr, info):
    name = expr['enum']
    members = expr['data']
    prefix = expr.get('prefix')
    if not isinstance(members, list):
        raise QAPISemError(info, "'data' must be an array")
    if prefix is not None and not isinstance(prefix, str):
        raise QAPISemError(info, "'prefix' must be a string")
    permit_upper = name in info.pragma.member_name_exceptions
    members[:] = [m if isinstance(m, dict) else {'name': m}
                  for m in members]
    for member in members:
        source = "'data' member"
        check_keys(member, info, source, ['name'], ['if', 'features'])
        member_name = member['name']
        check_name_is_str(member_name, info, source)
        source = "%s '%s'" % (source, member_name)
        # Enum values may start with a digit ('1' for example).
        if member_name[:1].isdigit():
            member_name = 'd' + member_name
        check_name_lower(member_name, info, source, permit_upper,
                         permit_underscore=permit_upper)
        check_if(member, info, source)
        check_features(member.get('features'), info)


def check_struct(expr, info):
    check_members(expr['data'], info, "'data'", expr['struct'])
    if 'base' in expr:
        check_type_ref(expr['base'], info, "'base'")


def check_union(expr, info):
    name = expr['union']
    base = expr['base']
    discriminator = expr['discriminator']
    members = expr['data']
    check_members(base, info, "'base'", name)
    check_name_is_str(discriminator, info, "'discriminator'")
    if not isinstance(members, dict):
        raise QAPISemError(info, "'data' must be an object")
    for key, value in members.items():
        source = "'data' member '%s'" % key
        value = normalize_member(value)
        members[key] = value
        check_keys(value, info, source, ['type'], ['if'])
        check_if(value, info, source)
        check_type_ref(value['type'], info, source)


def check_alternate(expr, info):
    members = expr['data']
    if not isinstance(members, dict):
        raise QAPISemError(info, "'data' must be an object")
    if not members:
        raise QAPISemError(info, "'data' must not be empty")
    for key, value in members.items():
        source = "'data' member '%s'" % key
        check_name_lower(key, info, source)
        value = normalize_member(value)
        members[key] = value
        check_keys(value, info, source, ['type'], ['if'])
        check_if(value, info, source)
        check_type_ref(value['type'], info, source)


def check_command(expr, info):
    args = expr.get('data')
    rets = expr.get('returns')
    boxed = expr.get('boxed', False)
    if boxed and args is None:
        raise QAPISemError(info, "'boxed': true requires 'data'")
    if args is not None:
        check_members(args, info, "'data'", expr['command'],
                      allow_dict=not boxed)
    if rets is not None:
        check_type_ref(rets, info, "'returns'", allow_array=True)


def check_event(expr, info):
    args = expr.get('data')
    boxed = expr.get('boxed', False)
    if boxed and args is None:
        raise QAPISemError(info, "'boxed': true requires 'data'")
    if args is not None:
        check_members(args, info, "'data'", expr['event'],
                      allow_dict=not boxed)


_KEYS = {
    'enum': (['enum', 'data'], ['if', 'features', 'prefix']),
    'struct': (['struct', 'data'], ['base', 'if', 'features']),
    'union': (['union', 'base', 'discriminator', 'data'],
              ['if', 'features']),
    'alternate': (['alternate', 'data'], ['if', 'features']),
    'command': (['command'],
                ['data', 'returns', 'boxed', 'if', 'features', 'gen',
                 'success-response', 'allow-oob', 'allow-preconfig',
                 'coroutine']),
    'event': (['event'], ['data', 'boxed', 'if', 'features']),
}

_CHECKS = {
    'enum': check_enum,
    'struct': check_struct,
    'union': check_union,
    'alternate': check_alternate,
    'command': check_command,
    'event': check_event,
}


def check_exprs(exprs):
    """Check every QAPIExpression in @exprs; set each one's .meta."""
    for item in exprs:
        expr = item.expr
        info = item.info
        metas = [m for m in META_KEYS if m in expr]
        if not metas:
            raise QAPISemError(info, "expression is missing metatype")
        if len(metas) > 1:
            raise QAPISemError(
                info, "expression has conflicting metatypes %s"
                % ', '.join("'%s'" % m for m in metas))
        meta = metas[0]
        item.meta = meta
        name = expr[meta]
        check_name_is_str(name, info, "'%s'" % meta)
        info.set_defn(meta, name)
        check_defn_name(name, info, meta)

        doc = item.doc
        if doc:
            if doc.symbol != name:
                raise QAPISemError(
                    info, "documentation comment is for '%s'" % doc.symbol)
        elif info.pragma.doc_required:
            raise QAPISemError(info, "documentation comment required")

        required, optional = _KEYS[meta]
        check_keys(expr, info, meta, required, optional)
        _CHECKS[meta](expr, info)
        check_if(expr, info, meta)
        check_features(expr.get('features'), info)
        check_flags(expr, info)
    return exprs
