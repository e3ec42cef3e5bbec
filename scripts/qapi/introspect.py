"""Back end: qapi-introspect.h / qapi-introspect.c, the data of
query-qmp-schema.

The reply is a list of SchemaInfo objects (see qapi/introspect.json), as
QEMU builds it:

  - every command and event, in schema order, then every type they use,
    in the order first used (types nobody uses are left out);
  - the name of every type that is not a built-in is replaced by a number
    ("0", "1", ...: the order of first use), so that clients look at
    commands and events rather than type names, which are not part of the
    interface; an array's name is "[" + element name + "]";
  - every integer type is shown as "int";
  - a command or event without arguments (or a command without a return
    value) names the empty object type.

The generated C is a flat table of QLit operations (see
include/qapi/qlit.h) with #if around conditional parts; <prefix>
qapi_introspect() turns it into a new JsonNode.
"""

from .common import c_string, wrap_if
from .gen import GenFile
from .schema import (QAPISchemaAlternateType, QAPISchemaArrayType,
                     QAPISchemaBuiltinType, QAPISchemaCommand,
                     QAPISchemaEnumType, QAPISchemaEvent,
                     QAPISchemaObjectType)
from .common import c_name


class Annotated:
    """A value that exists only under a condition, with a comment."""

    def __init__(self, value, ifcond=None, comment=None):
        self.value = value
        self.ifcond = ifcond
        self.comment = comment


class IntrospectGen:
    def __init__(self, schema, prefix, unmask):
        self.schema = schema
        self.prefix = prefix
        self.unmask = unmask
        self._used = []
        self._names = {}
        self._trees = []

    def _name(self, name):
        if self.unmask:
            return name
        if name not in self._names:
            self._names[name] = '%d' % len(self._names)
        return self._names[name]

    def _use_type(self, typ):
        if typ.json_type() == 'int':
            typ = self.schema.lookup_type('int')
        elif (isinstance(typ, QAPISchemaArrayType)
              and typ.element_type.json_type() == 'int'):
            typ = self.schema.lookup_type('intList')
        if typ not in self._used:
            self._used.append(typ)
        if isinstance(typ, QAPISchemaBuiltinType):
            return typ.name
        if isinstance(typ, QAPISchemaArrayType):
            return '[' + self._use_type(typ.element_type) + ']'
        return self._name(typ.name)

    @staticmethod
    def _features(features):
        return [Annotated(f.name, f.ifcond) for f in features]

    def _tree(self, name, mtype, obj, ifcond, features):
        comment = None
        if mtype not in ('command', 'event', 'builtin', 'array'):
            if not self.unmask:
                comment = '"%s" = %s' % (self._name(name), name)
            name = self._name(name)
        tree = {'name': name, 'meta-type': mtype}
        tree.update(obj)
        if features:
            tree['features'] = self._features(features)
        self._trees.append(Annotated(tree, ifcond, comment))

    def _member(self, member):
        obj = {'name': member.name, 'type': self._use_type(member.type)}
        if member.optional:
            obj['default'] = None
        if member.features:
            obj['features'] = self._features(member.features)
        return Annotated(obj, member.ifcond)

    def _entity(self, ent):
        if isinstance(ent, QAPISchemaBuiltinType):
            self._tree(ent.name, 'builtin', {'json-type': ent.json_type()},
                       None, None)
        elif isinstance(ent, QAPISchemaEnumType):
            members = []
            for value in ent.members:
                obj = {'name': value.name}
                if value.features:
                    obj['features'] = self._features(value.features)
                members.append(Annotated(obj, value.ifcond))
            self._tree(ent.name, 'enum', {
                'members': members,
                'values': [Annotated(v.name, v.ifcond) for v in ent.members],
            }, ent.ifcond, ent.features)
        elif isinstance(ent, QAPISchemaArrayType):
            element = self._use_type(ent.element_type)
            self._tree('[' + element + ']', 'array',
                       {'element-type': element}, ent.ifcond, None)
        elif isinstance(ent, QAPISchemaObjectType):
            obj = {'members': [self._member(m) for m in ent.members]}
            if ent.variants:
                obj['tag'] = ent.variants.tag_member.name
                obj['variants'] = [
                    Annotated({'case': v.name,
                               'type': self._use_type(v.type)}, v.ifcond)
                    for v in ent.variants.variants]
            self._tree(ent.name, 'object', obj, ent.ifcond, ent.features)
        elif isinstance(ent, QAPISchemaAlternateType):
            self._tree(ent.name, 'alternate', {'members': [
                Annotated({'type': self._use_type(v.type)}, v.ifcond)
                for v in ent.variants.variants]}, ent.ifcond, ent.features)
        elif isinstance(ent, QAPISchemaCommand):
            empty = self.schema.the_empty_object_type
            obj = {'arg-type': self._use_type(ent.arg_type or empty),
                   'ret-type': self._use_type(ent.ret_type or empty)}
            if ent.allow_oob:
                obj['allow-oob'] = True
            self._tree(ent.name, 'command', obj, ent.ifcond, ent.features)
        elif isinstance(ent, QAPISchemaEvent):
            empty = self.schema.the_empty_object_type
            self._tree(ent.name, 'event',
                       {'arg-type': self._use_type(ent.arg_type or empty)},
                       ent.ifcond, ent.features)

    def run(self):
        for ent in self.schema.user_entities():
            if isinstance(ent, (QAPISchemaCommand, QAPISchemaEvent)):
                self._entity(ent)
        i = 0
        while i < len(self._used):
            self._entity(self._used[i])
            i += 1
        ops = []
        self._emit(Annotated(self._trees), ops, 1)
        c_prefix = c_name(self.prefix, protect=False)
        h = GenFile(self.prefix + 'qapi-introspect.h',
                    'The data of query-qmp-schema.', self.schema.fname)
        c = GenFile(self.prefix + 'qapi-introspect.c',
                    'The data of query-qmp-schema.', self.schema.fname)
        h.preamble_add('#include <json-glib/json-glib.h>\n\n')
        h.add('/*\n'
              ' * The schema as query-qmp-schema returns it: a new JSON\n'
              ' * array of SchemaInfo objects, owned by the caller.\n'
              ' */\n'
              'JsonNode *%sqapi_introspect(void);\n' % c_prefix)
        c.preamble_add('#include "qemu/osdep.h"\n\n'
                       '#include "qapi/qlit.h"\n'
                       '#include "%sqapi-introspect.h"\n\n' % self.prefix)
        c.add('static const QLit %sqapi_schema_lit[] = {\n%s'
              '    { QLIT_END, NULL },\n'
              '};\n\n'
              'JsonNode *%sqapi_introspect(void)\n'
              '{\n'
              '    return qlit_to_json(%sqapi_schema_lit);\n'
              '}\n' % (c_prefix, ''.join(ops), c_prefix, c_prefix))
        return [h, c]

    def _emit(self, value, ops, depth):
        pad = '    ' * depth
        if isinstance(value, Annotated):
            text = []
            if value.comment:
                text.append('%s/* %s */\n' % (pad, value.comment))
            self._emit(value.value, text, depth)
            ops.append(wrap_if(value.ifcond, ''.join(text)))
        elif isinstance(value, dict):
            ops.append('%s{ QLIT_OBJECT, NULL },\n' % pad)
            for key, item in value.items():
                ops.append('%s{ QLIT_KEY, %s },\n' % (pad + '    ',
                                                      c_string(key)))
                self._emit(item, ops, depth + 1)
            ops.append('%s{ QLIT_CLOSE, NULL },\n' % pad)
        elif isinstance(value, list):
            ops.append('%s{ QLIT_ARRAY, NULL },\n' % pad)
            for item in value:
                self._emit(item, ops, depth + 1)
            ops.append('%s{ QLIT_CLOSE, NULL },\n' % pad)
        elif isinstance(value, bool):
            ops.append('%s{ %s, NULL },\n'
                       % (pad, 'QLIT_TRUE' if value else 'QLIT_FALSE'))
        elif value is None:
            ops.append('%s{ QLIT_NULL, NULL },\n' % pad)
        else:
            ops.append('%s{ QLIT_STR, %s },\n' % (pad, c_string(value)))


def gen_introspect(schema, prefix, unmask=False):
    """Return the GenFiles of qapi-introspect.[ch] for @schema."""
    return IntrospectGen(schema, prefix, unmask).run()
