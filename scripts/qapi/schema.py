"""The checked schema: typed entities and the checks between them.

QAPISchema(fname) parses and checks a schema.  Its entities are:

  QAPISchemaBuiltinType    str, int, int8 ... uint64, size, number, bool,
                           null, any
  QAPISchemaEnumType       'enum' (and the built-in QType)
  QAPISchemaArrayType      ['T'], named TList
  QAPISchemaObjectType     'struct', 'union', and implicit types: the
                           argument struct of a command or event whose
                           'data' is a dict (q_obj_NAME-arg), a union's
                           dict 'base' (q_obj_NAME-base), and q_empty
  QAPISchemaAlternateType  'alternate'
  QAPISchemaCommand, QAPISchemaEvent

Names a user can collide with are checked here: two members whose C names
are equal, a union branch member that repeats a base member, two alternate
branches a JSON value cannot tell apart.  Errors name the definition and
the line, as QEMU's generator does.
"""

import re

from .common import POINTER_SUFFIX, IfCond, c_enum_const, c_name
from .error import QAPISemError
from .expr import check_exprs
from .parser import QAPISchemaParser


class QAPISchemaEntity:
    """Anything with a name in the schema's single namespace."""

    meta = None

    def __init__(self, name, info, doc, ifcond=None, features=None):
        self.name = name
        self.info = info
        self.doc = doc
        self.ifcond = ifcond or IfCond()
        self.features = features or []
        for feat in self.features:
            feat.set_defined_in(name)
        self._checked = False

    def c_name(self):
        return c_name(self.name)

    def check(self, schema):
        seen = {}
        for feat in self.features:
            feat.check_clash(self.info, seen)
        self._checked = True

    def connect_doc(self):
        if self.doc:
            for feat in self.features:
                feat.connect_doc(self.doc, 'feature')

    def is_implicit(self):
        return not self.info

    def describe(self):
        return "%s '%s'" % (self.meta, self.name)

    def feature_names(self):
        return [f.name for f in self.features]


class QAPISchemaType(QAPISchemaEntity):
    """A type: something a member, argument or return value can have."""

    def c_type(self):
        raise NotImplementedError

    def c_param_type(self):
        """The C type of a handler or event parameter of this type."""
        return self.c_type()

    def c_unboxed_type(self):
        """The C type when stored by value (union branches)."""
        return self.c_type()

    def c_const_type(self):
        """The C type of an output function's argument."""
        ctype = self.c_type()
        if ctype.endswith(POINTER_SUFFIX):
            return 'const ' + ctype
        return ctype

    def json_type(self):
        raise NotImplementedError

    def alternate_qtype(self):
        return {
            'null': 'QTYPE_QNULL',
            'string': 'QTYPE_QSTRING',
            'number': 'QTYPE_QNUM',
            'int': 'QTYPE_QNUM',
            'boolean': 'QTYPE_QBOOL',
            'array': 'QTYPE_QLIST',
            'object': 'QTYPE_QDICT',
        }.get(self.json_type())

    def is_pointer(self):
        return self.c_type().endswith(POINTER_SUFFIX)

    def need_has_if_optional(self):
        """An optional member of this type needs a has_ flag unless its C
        type is a pointer (NULL then means absent)."""
        return not self.is_pointer()

    def describe(self):
        return "%s type '%s'" % (self.meta, self.name)


class QAPISchemaBuiltinType(QAPISchemaType):
    meta = 'built-in'

    def __init__(self, name, json_type, c_type):
        super().__init__(name, None, None)
        self._json_type = json_type
        self._c_type = c_type

    def c_name(self):
        return self.name

    def c_type(self):
        return self._c_type

    def c_param_type(self):
        if self.name == 'str':
            return 'const ' + self._c_type
        return self._c_type

    def json_type(self):
        return self._json_type

    def describe(self):
        return "built-in type '%s'" % self.name


class QAPISchemaEnumType(QAPISchemaType):
    meta = 'enum'

    def __init__(self, name, info, doc, ifcond, features, members, prefix):
        super().__init__(name, info, doc, ifcond, features)
        for member in members:
            member.set_defined_in(name)
        self.members = members
        self.prefix = prefix

    def check(self, schema):
        super().check(schema)
        seen = {}
        for member in self.members:
            member.check_clash(self.info, seen)

    def connect_doc(self):
        super().connect_doc()
        if self.doc:
            for member in self.members:
                member.connect_doc(self.doc, 'member')

    def is_implicit(self):
        return self.info is None

    def c_type(self):
        return c_name(self.name)

    def json_type(self):
        return 'string'

    def member_names(self):
        return [m.name for m in self.members]

    def c_const(self, value_name):
        return c_enum_const(self.name, value_name, self.prefix)

    def c_max(self):
        return c_enum_const(self.name, '_MAX', self.prefix)


class QAPISchemaArrayType(QAPISchemaType):
    meta = 'array'

    def __init__(self, name, info, element_type_name):
        super().__init__(name, info, None)
        self._element_type_name = element_type_name
        self.element_type = None

    def check(self, schema):
        super().check(schema)
        self.element_type = schema.resolve_type(
            self._element_type_name, self.info,
            self.info and self.info.defn_meta)
        assert not isinstance(self.element_type, QAPISchemaArrayType)
        self.ifcond = self.element_type.ifcond

    def is_implicit(self):
        return True

    def c_type(self):
        return c_name(self.name) + POINTER_SUFFIX

    def json_type(self):
        return 'array'

    def describe(self):
        return "array of %s" % self._element_type_name


class QAPISchemaObjectType(QAPISchemaType):
    """A struct or a (flat) union; also the implicit argument types."""

    def __init__(self, name, info, doc, ifcond, features, base,
                 local_members, variants, meta='struct'):
        super().__init__(name, info, doc, ifcond, features)
        self.meta = meta
        for member in local_members:
            member.set_defined_in(name)
        if variants:
            variants.set_defined_in(name)
        self._base_name = base
        self.base = None
        self.local_members = local_members
        self.variants = variants
        self.members = None

    def check(self, schema):
        if self.members is not None:
            return
        if self._checked:
            # Checking the base (or a branch) came back here.
            raise QAPISemError(self.info,
                               "object %s contains itself" % self.name)
        super().check(schema)
        self._checked = True
        seen = {}
        if self._base_name:
            self.base = schema.resolve_type(self._base_name, self.info,
                                            "'base'")
            if (not isinstance(self.base, QAPISchemaObjectType)
                    or self.base.variants):
                raise QAPISemError(
                    self.info,
                    "'base' requires a struct type, %s isn't"
                    % self.base.describe())
            self.base.check(schema)
            for member in self.base.members:
                member.check_clash(self.info, seen)
        for member in self.local_members:
            member.check(schema)
            member.check_clash(self.info, seen)
        self.members = (list(self.base.members) if self.base else []) \
            + self.local_members
        if self.variants:
            self.variants.check(schema, seen)
            self.variants.check_clash(self.info, seen)

    def check_clash(self, info, seen):
        """Check that this type's members do not collide with @seen (for
        union branches, whose members land in the same JSON object)."""
        assert self.members is not None
        for member in self.members:
            member.check_clash(info, seen)
        if self.variants:
            self.variants.check_clash(info, seen)

    def connect_doc(self):
        super().connect_doc()
        if self.doc:
            if self.base and self.base.is_implicit():
                for member in self.base.local_members:
                    member.connect_doc(self.doc, 'member')
            for member in self.local_members:
                member.connect_doc(self.doc, 'member')

    def is_implicit(self):
        return self.name.startswith('q_')

    def is_empty(self):
        assert self.members is not None
        return not self.members and not self.variants

    def c_name(self):
        assert self.name != 'q_empty'
        return super().c_name()

    def c_type(self):
        assert not self.is_implicit()
        return c_name(self.name) + POINTER_SUFFIX

    def c_unboxed_type(self):
        return c_name(self.name)

    def json_type(self):
        return 'object'


class QAPISchemaAlternateType(QAPISchemaType):
    meta = 'alternate'

    def __init__(self, name, info, doc, ifcond, features, variants):
        super().__init__(name, info, doc, ifcond, features)
        variants.set_defined_in(name)
        self.variants = variants

    def check(self, schema):
        super().check(schema)
        self.variants.tag_member.check(schema)
        self.variants.check(schema, {})
        seen = {}
        for var in self.variants.variants:
            var.check_clash(self.info, seen)
        types_seen = {}
        for var in self.variants.variants:
            qtype = var.type.alternate_qtype()
            if not qtype or isinstance(var.type, QAPISchemaArrayType):
                raise QAPISemError(
                    self.info, "%s cannot use %s"
                    % (var.describe(self.info), var.type.describe()))
            # A string branch also takes what keyval input writes for a
            # number or a boolean, so those must not be branches too.
            conflicting = {qtype}
            if qtype == 'QTYPE_QSTRING':
                if isinstance(var.type, QAPISchemaEnumType):
                    for value in var.type.members:
                        if value.name in ('on', 'off'):
                            conflicting.add('QTYPE_QBOOL')
                        if re.match(r'[-+0-9.]', value.name):
                            conflicting.add('QTYPE_QNUM')
                else:
                    conflicting.add('QTYPE_QNUM')
                    conflicting.add('QTYPE_QBOOL')
            for qt in conflicting:
                if qt in types_seen:
                    raise QAPISemError(
                        self.info, "%s can't be distinguished from '%s'"
                        % (var.describe(self.info), types_seen[qt]))
                types_seen[qt] = var.name

    def connect_doc(self):
        super().connect_doc()
        if self.doc:
            for var in self.variants.variants:
                var.connect_doc(self.doc, 'member')

    def c_type(self):
        return c_name(self.name) + POINTER_SUFFIX

    def json_type(self):
        return 'value'


class QAPISchemaVariants:
    """The branches of a union (tag: a base member) or of an alternate
    (tag: the implicit 'type' member of type QType)."""

    def __init__(self, tag_name, info, tag_member, variants):
        self._tag_name = tag_name
        self.info = info
        self.tag_member = tag_member
        self.variants = variants
        self.defined_in = None

    def set_defined_in(self, name):
        self.defined_in = name
        for var in self.variants:
            var.set_defined_in(name)

    def check(self, schema, seen):
        if self._tag_name:
            # A union: the discriminator is one of the base's members.
            self.tag_member = seen.get(c_name(self._tag_name))
            base = "'base'"
            if (not self.tag_member
                    or self._tag_name != self.tag_member.name):
                raise QAPISemError(
                    self.info, "discriminator '%s' is not a member of %s"
                    % (self._tag_name, base))
            if not isinstance(self.tag_member.type, QAPISchemaEnumType):
                raise QAPISemError(
                    self.info, "discriminator member '%s' of %s must be of "
                    "enum type" % (self._tag_name, base))
            if self.tag_member.optional:
                raise QAPISemError(
                    self.info, "discriminator member '%s' of %s must not be "
                    "optional" % (self._tag_name, base))
            if self.tag_member.ifcond:
                raise QAPISemError(
                    self.info, "discriminator member '%s' of %s must not be "
                    "conditional" % (self._tag_name, base))
            # Tag values without a branch get an empty one.
            cases = {v.name for v in self.variants}
            for value in self.tag_member.type.members:
                if value.name not in cases:
                    var = QAPISchemaVariant(value.name, self.info, 'q_empty',
                                            value.ifcond)
                    var.set_defined_in(self.defined_in)
                    self.variants.append(var)
        if not self.variants:
            raise QAPISemError(self.info, "union has no branches")
        for var in self.variants:
            var.check(schema)
            if self._tag_name:
                if var.name not in self.tag_member.type.member_names():
                    raise QAPISemError(
                        self.info, "branch '%s' is not a value of %s"
                        % (var.name, self.tag_member.type.describe()))
                if (not isinstance(var.type, QAPISchemaObjectType)
                        or var.type.variants):
                    raise QAPISemError(
                        self.info, "%s cannot use %s"
                        % (var.describe(self.info), var.type.describe()))
                var.type.check(schema)

    def check_clash(self, info, seen):
        for var in self.variants:
            # Each branch's members share the JSON object with the base's
            # members, but not with the other branches'.
            if isinstance(var.type, QAPISchemaObjectType):
                var.type.check_clash(info, dict(seen))


class QAPISchemaMember:
    """Something named inside a definition: a member, an enum value, a
    union or alternate branch, or a feature."""

    role = 'member'

    def __init__(self, name, info, ifcond=None):
        self.name = name
        self.info = info
        self.ifcond = ifcond or IfCond()
        self.defined_in = None

    def set_defined_in(self, name):
        assert not self.defined_in
        self.defined_in = name

    def check_clash(self, info, seen):
        cname = c_name(self.name)
        if cname in seen:
            raise QAPISemError(
                info, "%s collides with %s"
                % (self.describe(info), seen[cname].describe(info)))
        seen[cname] = self

    def connect_doc(self, doc, kind):
        if kind == 'feature':
            doc.connect_feature(self.name)
        else:
            doc.connect_member(self.name)
        for feat in getattr(self, 'features', []):
            doc.connect_feature(feat.name)

    def describe(self, info):
        role = self.role
        meta = 'type'
        defined_in = self.defined_in or ''
        if defined_in.startswith('q_obj_'):
            # Undo _make_implicit_object_type() for the reader.
            defined_in = defined_in[6:]
            if defined_in.endswith('-arg'):
                role = 'parameter'
                meta = 'command'
                defined_in = defined_in[:-4]
            elif defined_in.endswith('-base'):
                role = 'base ' + role
                defined_in = defined_in[:-5]
        if info is None or defined_in != info.defn_name:
            return "%s '%s' of %s '%s'" % (role, self.name, meta, defined_in)
        return "%s '%s'" % (role, self.name)


class QAPISchemaEnumMember(QAPISchemaMember):
    role = 'value'

    def __init__(self, name, info, ifcond=None, features=None):
        super().__init__(name, info, ifcond)
        self.features = features or []

    def set_defined_in(self, name):
        super().set_defined_in(name)
        for feat in self.features:
            feat.set_defined_in(name)


class QAPISchemaFeature(QAPISchemaMember):
    role = 'feature'


class QAPISchemaObjectTypeMember(QAPISchemaMember):
    def __init__(self, name, info, typ, optional, ifcond=None,
                 features=None):
        super().__init__(name, info, ifcond)
        self._type_name = typ
        self.type = None
        self.optional = optional
        self.features = features or []

    def set_defined_in(self, name):
        super().set_defined_in(name)
        for feat in self.features:
            feat.set_defined_in(name)

    def need_has(self):
        """True if the C struct has a has_<name> flag for this member."""
        assert self.type
        return self.optional and self.type.need_has_if_optional()

    def check(self, schema):
        assert self.defined_in
        self.type = schema.resolve_type(self._type_name, self.info,
                                        self.describe)
        seen = {}
        for feat in self.features:
            feat.check_clash(self.info, seen)


class QAPISchemaVariant(QAPISchemaObjectTypeMember):
    role = 'branch'

    def __init__(self, name, info, typ, ifcond=None):
        super().__init__(name, info, typ, False, ifcond)


def _check_unboxed_conditionals(ent):
    """Arguments become C parameters unless 'boxed'; a parameter list
    cannot have #if inside, so conditional arguments need 'boxed'."""
    if ent.boxed:
        return
    for member in ent.arg_type.members:
        if member.ifcond:
            raise QAPISemError(
                ent.info, "conditional %s arguments require 'boxed': true"
                % ent.meta)


def _check_arg_type(entity, schema, what):
    """Resolve and check the 'data' of a command or event: an object
    type, with variants only when 'boxed'."""
    if not entity._arg_type_name:
        return
    entity.arg_type = schema.resolve_type(entity._arg_type_name,
                                          entity.info, what)
    if not isinstance(entity.arg_type, QAPISchemaObjectType):
        raise QAPISemError(entity.info, "%s cannot take %s"
                           % (what, entity.arg_type.describe()))
    entity.arg_type.check(schema)
    if entity.arg_type.variants and not entity.boxed:
        raise QAPISemError(entity.info, "%s can take %s only with "
                           "'boxed': true" % (what,
                                              entity.arg_type.describe()))
    _check_unboxed_conditionals(entity)


class QAPISchemaCommand(QAPISchemaEntity):
    meta = 'command'

    def __init__(self, name, info, doc, ifcond, features, arg_type,
                 ret_type, gen, success_response, boxed, allow_oob,
                 allow_preconfig, coroutine):
        super().__init__(name, info, doc, ifcond, features)
        self._arg_type_name = arg_type
        self.arg_type = None
        self._ret_type_name = ret_type
        self.ret_type = None
        self.gen = gen
        self.success_response = success_response
        self.boxed = boxed
        self.allow_oob = allow_oob
        self.allow_preconfig = allow_preconfig
        self.coroutine = coroutine

    def check(self, schema):
        super().check(schema)
        _check_arg_type(self, schema, "command's 'data'")
        if self._ret_type_name:
            self.ret_type = schema.resolve_type(
                self._ret_type_name, self.info, "command's 'returns'")
            if self.name not in self.info.pragma.command_returns_exceptions:
                typ = self.ret_type
                if isinstance(typ, QAPISchemaArrayType):
                    typ = schema.resolve_type(typ._element_type_name,
                                              self.info, "command's 'returns'")
                if not isinstance(typ, QAPISchemaObjectType):
                    raise QAPISemError(
                        self.info, "command's 'returns' cannot take %s"
                        % self.ret_type.describe())

    def connect_doc(self):
        super().connect_doc()
        if self.doc and self.arg_type:
            if self.arg_type.is_implicit() or self.boxed:
                for member in self.arg_type.members:
                    member.connect_doc(self.doc, 'member')


class QAPISchemaEvent(QAPISchemaEntity):
    meta = 'event'

    def __init__(self, name, info, doc, ifcond, features, arg_type, boxed):
        super().__init__(name, info, doc, ifcond, features)
        self._arg_type_name = arg_type
        self.arg_type = None
        self.boxed = boxed

    def check(self, schema):
        super().check(schema)
        _check_arg_type(self, schema, "event's 'data'")

    def connect_doc(self):
        super().connect_doc()
        if self.doc and self.arg_type:
            if self.arg_type.is_implicit() or self.boxed:
                for member in self.arg_type.members:
                    member.connect_doc(self.doc, 'member')


# name, JSON type, C type
BUILTINS = (
    ('str', 'string', 'char' + POINTER_SUFFIX),
    ('number', 'number', 'double'),
    ('int', 'int', 'int64_t'),
    ('int8', 'int', 'int8_t'),
    ('int16', 'int', 'int16_t'),
    ('int32', 'int', 'int32_t'),
    ('int64', 'int', 'int64_t'),
    ('uint8', 'int', 'uint8_t'),
    ('uint16', 'int', 'uint16_t'),
    ('uint32', 'int', 'uint32_t'),
    ('uint64', 'int', 'uint64_t'),
    ('size', 'int', 'uint64_t'),
    ('bool', 'boolean', 'bool'),
    ('any', 'value', 'JsonNode' + POINTER_SUFFIX),
    ('null', 'null', 'JsonNode' + POINTER_SUFFIX),
)

QTYPES = ('none', 'qnull', 'qnum', 'qstring', 'qdict', 'qlist', 'qbool')


class QAPISchema:
    """A parsed and checked schema.

    .entities lists every entity in definition order: the built-ins first,
    then each definition, with implicit types just before the definition
    that made them.  .docs lists the documentation blocks in file order.
    """

    def __init__(self, fname):
        self.fname = fname
        parser = QAPISchemaParser(fname)
        exprs = check_exprs(parser.exprs)
        self.docs = parser.docs
        self.entities = []
        self._entity_dict = {}
        self._def_predefineds()
        for item in exprs:
            self._def_expr(item)
        self._check()

    # Definitions

    def _def_entity(self, ent):
        other = self._entity_dict.get(ent.name)
        if other:
            if other.info:
                raise QAPISemError(
                    ent.info, "'%s' is already defined\n%s: previous "
                    "definition" % (ent.name, other.info.loc()))
            raise QAPISemError(ent.info,
                               "%s is already defined" % other.describe())
        self._entity_dict[ent.name] = ent
        self.entities.append(ent)

    def lookup_entity(self, name, typ=None):
        ent = self._entity_dict.get(name)
        if typ and not isinstance(ent, typ):
            return None
        return ent

    def lookup_type(self, name):
        return self.lookup_entity(name, QAPISchemaType)

    def resolve_type(self, name, info, what):
        typ = self.lookup_type(name)
        if not typ:
            if callable(what):
                what = what(info)
            raise QAPISemError(
                info, "%s uses unknown type '%s'" % (what, name))
        return typ

    def _def_predefineds(self):
        for name, json_type, c_type in BUILTINS:
            self._def_entity(QAPISchemaBuiltinType(name, json_type, c_type))
            self._make_array_type(name, None)
        self.the_empty_object_type = QAPISchemaObjectType(
            'q_empty', None, None, None, None, None, [], None)
        self._def_entity(self.the_empty_object_type)
        self._def_entity(QAPISchemaEnumType(
            'QType', None, None, None, None,
            [QAPISchemaEnumMember(q, None) for q in QTYPES], 'QTYPE'))

    def _make_array_type(self, element_type, info):
        name = element_type + 'List'
        if not self.lookup_entity(name):
            self._def_entity(QAPISchemaArrayType(name, info, element_type))
        return name

    def _make_type_ref(self, typ, info):
        if isinstance(typ, list):
            return self._make_array_type(typ[0], info)
        return typ

    def _make_features(self, features, info):
        return [QAPISchemaFeature(f['name'], info, IfCond(f.get('if')))
                for f in features or []]

    def _make_member(self, name, typ, ifcond, features, info):
        optional = False
        if name.startswith('*'):
            name = name[1:]
            optional = True
        return QAPISchemaObjectTypeMember(
            name, info, self._make_type_ref(typ, info), optional,
            IfCond(ifcond), self._make_features(features, info))

    def _make_members(self, data, info):
        return [self._make_member(key, value['type'], value.get('if'),
                                  value.get('features'), info)
                for key, value in data.items()]

    def _make_implicit_object_type(self, name, info, ifcond, role, members):
        name = 'q_obj_%s-%s' % (name, role)
        if not self.lookup_entity(name):
            self._def_entity(QAPISchemaObjectType(
                name, info, None, ifcond, None, None, members, None))
        return name

    def _def_expr(self, item):
        expr = item.expr
        info = item.info
        doc = item.doc
        meta = item.meta
        name = expr[meta]
        ifcond = IfCond(expr.get('if'))
        features = self._make_features(expr.get('features'), info)

        if meta == 'enum':
            members = [QAPISchemaEnumMember(
                m['name'], info, IfCond(m.get('if')),
                self._make_features(m.get('features'), info))
                for m in expr['data']]
            self._def_entity(QAPISchemaEnumType(
                name, info, doc, ifcond, features, members,
                expr.get('prefix')))
        elif meta == 'struct':
            data = expr['data']
            self._def_entity(QAPISchemaObjectType(
                name, info, doc, ifcond, features, expr.get('base'),
                self._make_members(data, info), None))
        elif meta == 'union':
            base = expr['base']
            if isinstance(base, dict):
                base = self._make_implicit_object_type(
                    name, info, ifcond, 'base',
                    self._make_members(base, info))
            variants = [QAPISchemaVariant(
                key, info, self._make_type_ref(value['type'], info),
                IfCond(value.get('if')))
                for key, value in expr['data'].items()]
            self._def_entity(QAPISchemaObjectType(
                name, info, doc, ifcond, features, base, [],
                QAPISchemaVariants(expr['discriminator'], info, None,
                                   variants), meta='union'))
        elif meta == 'alternate':
            variants = [QAPISchemaVariant(
                key, info, self._make_type_ref(value['type'], info),
                IfCond(value.get('if')))
                for key, value in expr['data'].items()]
            tag_member = QAPISchemaObjectTypeMember('type', info, 'QType',
                                                    False)
            tag_member.set_defined_in(name)
            self._def_entity(QAPISchemaAlternateType(
                name, info, doc, ifcond, features,
                QAPISchemaVariants(None, info, tag_member, variants)))
        elif meta == 'command':
            data = expr.get('data')
            if isinstance(data, dict):
                data = self._make_implicit_object_type(
                    name, info, ifcond, 'arg',
                    self._make_members(data, info))
            rets = expr.get('returns')
            if rets is not None:
                rets = self._make_type_ref(rets, info)
            self._def_entity(QAPISchemaCommand(
                name, info, doc, ifcond, features, data, rets,
                expr.get('gen', True), expr.get('success-response', True),
                expr.get('boxed', False), expr.get('allow-oob', False),
                expr.get('allow-preconfig', False),
                expr.get('coroutine', False)))
        elif meta == 'event':
            data = expr.get('data')
            if isinstance(data, dict):
                data = self._make_implicit_object_type(
                    name, info, ifcond, 'arg',
                    self._make_members(data, info))
            self._def_entity(QAPISchemaEvent(
                name, info, doc, ifcond, features, data,
                expr.get('boxed', False)))
        else:
            assert False, meta

    def _check(self):
        for ent in list(self.entities):
            ent.check(self)
        for ent in self.entities:
            ent.connect_doc()
            if ent.doc:
                ent.doc.check()

    # Queries for the back ends

    def user_entities(self):
        """Entities defined by the schema files (not the built-ins)."""
        return [e for e in self.entities if e.info is not None]

    def builtin_arrays(self):
        return [e for e in self.entities
                if isinstance(e, QAPISchemaArrayType)
                and isinstance(e.element_type, QAPISchemaBuiltinType)]
