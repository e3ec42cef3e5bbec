"""Back end: qapi-types.h / qapi-types.c.

For each type of the schema, its C definition and the function that frees
a value of it:

  enum Foo          typedef enum Foo { FOO_A, ..., FOO__MAX } Foo;
                    extern const QEnumLookup Foo_lookup;  Foo_str(val)
  struct Foo        struct Foo { members... };
  union Foo         struct Foo { base members...; union { Branch b; } u; };
  alternate Foo     struct Foo { QType type; union { ... } u; };
  ['Foo']           struct FooList { FooList *next; Foo *value; };

  qapi_free_Foo(obj)           frees @obj and everything it owns (NULL is ok)
  qapi_free_Foo_members(obj)   frees what @obj owns, not @obj itself

An optional member whose C type is a pointer is NULL when absent; any
other optional member has a 'bool has_<name>' flag before it.  A struct
with a base starts with the base's members, in order, so a pointer to it
may be used as a pointer to the base (qapi_Foo_base()).
"""

from .common import c_name, wrap_if
from .gen import GenFile
from .schema import (QAPISchemaAlternateType, QAPISchemaArrayType,
                     QAPISchemaBuiltinType, QAPISchemaEnumType,
                     QAPISchemaObjectType)


def gen_free_value(typ, expr):
    """C statements freeing the value @expr of type @typ, or ''."""
    if isinstance(typ, QAPISchemaBuiltinType):
        if typ.name == 'str':
            return 'g_free(%s);\n' % expr
        if typ.name in ('any', 'null'):
            return 'if (%s) {\n    json_node_unref(%s);\n}\n' % (expr, expr)
        return ''
    if isinstance(typ, QAPISchemaEnumType):
        return ''
    return 'qapi_free_%s(%s);\n' % (typ.c_name(), expr)


def gen_enum(typ):
    values = ''
    for member in typ.members:
        values += wrap_if(member.ifcond,
                          '    %s,\n' % typ.c_const(member.name))
    text = ('typedef enum %(c_name)s {\n%(values)s    %(max)s,\n'
            '} %(c_name)s;\n\n'
            'extern const QEnumLookup %(c_name)s_lookup;\n'
            '#define %(c_name)s_str(val) \\\n'
            '    qapi_enum_lookup(&%(c_name)s_lookup, (val))\n\n'
            % {'c_name': typ.c_name(), 'values': values,
               'max': typ.c_max()})
    return wrap_if(typ.ifcond, text)


def gen_enum_lookup(typ):
    entries = ''
    for member in typ.members:
        entries += wrap_if(member.ifcond, '        [%s] = "%s",\n'
                           % (typ.c_const(member.name), member.name))
    text = ('const QEnumLookup %(c_name)s_lookup = {\n'
            '    .array = (const char *const[]) {\n%(entries)s    },\n'
            '    .size = %(max)s,\n'
            '};\n\n'
            % {'c_name': typ.c_name(), 'entries': entries,
               'max': typ.c_max()})
    return wrap_if(typ.ifcond, text)


def gen_members(members):
    text = ''
    for member in members:
        decl = ''
        if member.need_has():
            decl += '    bool has_%s;\n' % c_name(member.name)
        decl += '    %s %s;\n' % (member.type.c_type(), c_name(member.name))
        text += wrap_if(member.ifcond, decl.replace('* ', '*'))
    return text


def gen_variants(variants):
    text = '    union { /* union tag is @%s */\n' % c_name(
        variants.tag_member.name)
    for var in variants.variants:
        if var.type.name == 'q_empty':
            continue
        ctype = var.type.c_unboxed_type()
        sep = '' if ctype.endswith('*') else ' '
        text += wrap_if(var.ifcond, '        %s%s%s;\n'
                        % (ctype, sep, c_name(var.name)))
    return text + '    } u;\n'


class TypesGen:
    """Collect the header and source text for one schema."""

    def __init__(self, schema, prefix):
        self.schema = schema
        self.prefix = prefix
        self.h = GenFile(prefix + 'qapi-types.h',
                         'The C types of the QAPI schema.', schema.fname)
        self.c = GenFile(prefix + 'qapi-types.c',
                         'Freeing and enum lookup for the QAPI schema types.',
                         schema.fname)
        self._bodies_done = set()
        self._enums = []
        self._fwd = []
        self._bodies = []
        self._frees = []
        self._impls = []

    def run(self):
        self.h.preamble_add('#include <json-glib/json-glib.h>\n\n'
                            '#include "qapi/util.h"\n\n')
        self.c.preamble_add('#include "qemu/osdep.h"\n\n'
                            '#include "%sqapi-types.h"\n\n' % self.prefix)
        for typ in self.schema.builtin_arrays():
            self._array(typ)
        for ent in self.schema.user_entities():
            if isinstance(ent, QAPISchemaEnumType):
                self._enums.append(gen_enum(ent))
                self._impls.append(gen_enum_lookup(ent))
            elif isinstance(ent, QAPISchemaArrayType):
                self._array(ent)
            elif isinstance(ent, QAPISchemaObjectType):
                self._object(ent)
            elif isinstance(ent, QAPISchemaAlternateType):
                self._alternate(ent)
        self.h.add('/* Enumerations */\n\n' + ''.join(self._enums))
        self.h.add('/* Forward declarations */\n\n' + ''.join(self._fwd)
                   + '\n')
        self.h.add('/* Definitions */\n\n' + ''.join(self._bodies))
        self.h.add('/* Freeing */\n\n' + ''.join(self._frees))
        self.c.add(''.join(self._impls))
        return [self.h, self.c]

    def _fwd_decl(self, typ):
        self._fwd.append(wrap_if(typ.ifcond, 'typedef struct %s %s;\n'
                                 % (typ.c_name(), typ.c_name())))

    def _free_decl(self, typ, members_too):
        text = ''
        if members_too:
            text += 'void qapi_free_%s_members(%s *obj);\n' % (
                typ.c_name(), typ.c_name())
        if not typ.is_implicit() or isinstance(typ, QAPISchemaArrayType):
            text += ('void qapi_free_%(c)s(%(c)s *obj);\n'
                     'G_DEFINE_AUTOPTR_CLEANUP_FUNC(%(c)s, qapi_free_%(c)s)\n'
                     % {'c': typ.c_name()})
        self._frees.append(wrap_if(typ.ifcond, text + '\n'))

    def _array(self, typ):
        self._fwd_decl(typ)
        elt = typ.element_type
        body = ('struct %(c)s {\n'
                '    %(c)s *next;\n'
                '    %(elt)s value;\n'
                '};\n\n' % {'c': typ.c_name(), 'elt': elt.c_type()})
        self._bodies.append(wrap_if(typ.ifcond, body.replace('* value',
                                                             '*value')))
        self._free_decl(typ, False)
        free_elt = gen_free_value(elt, 'obj->value')
        impl = ('void qapi_free_%(c)s(%(c)s *obj)\n'
                '{\n'
                '    %(c)s *next;\n\n'
                '    for (; obj; obj = next) {\n'
                '        next = obj->next;\n'
                '%(free)s'
                '        g_free(obj);\n'
                '    }\n'
                '}\n\n'
                % {'c': typ.c_name(),
                   'free': ''.join('        ' + line
                                   for line in free_elt.splitlines(True))})
        self._impls.append(wrap_if(typ.ifcond, impl))

    def _body(self, typ):
        """Emit the struct body of object or alternate @typ, after the
        bodies of the types it stores by value."""
        if typ.name in self._bodies_done or typ.name == 'q_empty':
            return
        self._bodies_done.add(typ.name)
        for var in (typ.variants.variants if typ.variants else []):
            if isinstance(var.type, QAPISchemaObjectType):
                self._body(var.type)
        text = 'struct %s {\n' % typ.c_name()
        if isinstance(typ, QAPISchemaAlternateType):
            text += '    QType type;\n'
        else:
            if typ.base and not typ.base.is_implicit():
                text += '    /* Members inherited from %s: */\n' % (
                    typ.base.name)
                text += gen_members(typ.base.members)
                text += '    /* Own members: */\n'
            elif typ.base:
                text += gen_members(typ.base.members)
            text += gen_members(typ.local_members)
        if typ.variants:
            text += gen_variants(typ.variants)
        if (isinstance(typ, QAPISchemaObjectType) and not typ.members
                and not typ.variants):
            # C does not allow an empty struct.
            text += '    char qapi_dummy_for_empty_struct;\n'
        text += '};\n\n'
        if (isinstance(typ, QAPISchemaObjectType) and typ.base
                and not typ.base.is_implicit()):
            text += ('static inline %(b)s *qapi_%(c)s_base(const %(c)s *obj)'
                     '\n{\n    return (%(b)s *)obj;\n}\n\n'
                     % {'b': typ.base.c_name(), 'c': typ.c_name()})
        self._bodies.append(wrap_if(typ.ifcond, text))

    def _object(self, typ):
        if typ.name == 'q_empty':
            return
        self._fwd_decl(typ)
        self._body(typ)
        self._free_decl(typ, True)
        frees = ''
        for member in typ.members:
            frees += wrap_if(member.ifcond, gen_free_value(
                member.type, 'obj->%s' % c_name(member.name)))
        if typ.variants:
            cases = ''
            tag = typ.variants.tag_member
            for var in typ.variants.variants:
                if var.type.name == 'q_empty' or not var.type.members:
                    continue
                cases += wrap_if(var.ifcond, (
                    'case %s:\n'
                    '    qapi_free_%s_members(&obj->u.%s);\n'
                    '    break;\n')
                    % (tag.type.c_const(var.name), var.type.c_name(),
                       c_name(var.name)))
            if cases:
                frees += ('switch (obj->%s) {\n%sdefault:\n    break;\n}\n'
                          % (c_name(tag.name), cases))
        impl = ('void qapi_free_%(c)s_members(%(c)s *obj)\n{\n%(frees)s}\n\n'
                % {'c': typ.c_name(),
                   'frees': ''.join('    ' + line if line.strip()
                                    and not line.startswith('#') else line
                                    for line in frees.splitlines(True))})
        if not frees:
            impl = impl.replace('\n{\n}', '\n{\n    (void)obj;\n}')
        if not typ.is_implicit():
            impl += ('void qapi_free_%(c)s(%(c)s *obj)\n'
                     '{\n'
                     '    if (!obj) {\n'
                     '        return;\n'
                     '    }\n'
                     '    qapi_free_%(c)s_members(obj);\n'
                     '    g_free(obj);\n'
                     '}\n\n' % {'c': typ.c_name()})
        self._impls.append(wrap_if(typ.ifcond, impl))

    def _alternate(self, typ):
        self._fwd_decl(typ)
        self._body(typ)
        self._free_decl(typ, False)
        cases = ''
        for var in typ.variants.variants:
            if isinstance(var.type, QAPISchemaObjectType):
                free = 'qapi_free_%s_members(&obj->u.%s);\n' % (
                    var.type.c_name(), c_name(var.name))
            else:
                free = gen_free_value(var.type, 'obj->u.%s' % c_name(var.name))
            if not free:
                continue
            cases += wrap_if(var.ifcond, 'case %s:\n%s    break;\n' % (
                var.type.alternate_qtype(),
                ''.join('    ' + line for line in free.splitlines(True))))
        switch = ''
        if cases:
            switch = ('    switch (obj->type) {\n%s    default:\n'
                      '        break;\n    }\n'
                      % ''.join('    ' + line if not line.startswith('#')
                                else line
                                for line in cases.splitlines(True)))
        impl = ('void qapi_free_%(c)s(%(c)s *obj)\n'
                '{\n'
                '    if (!obj) {\n'
                '        return;\n'
                '    }\n'
                '%(switch)s'
                '    g_free(obj);\n'
                '}\n\n' % {'c': typ.c_name(), 'switch': switch})
        self._impls.append(wrap_if(typ.ifcond, impl))


def gen_types(schema, prefix):
    """Return the GenFiles of qapi-types.[ch] for @schema."""
    return TypesGen(schema, prefix).run()
