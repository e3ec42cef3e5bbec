"""Back end: qapi-visit.h / qapi-visit.c.

For each type Foo, two functions convert between JSON (json-glib's
JsonNode) and the C type:

  bool qapi_input_Foo(QapiInput *in, const char *name, JsonNode *node,
                      Foo **obj, Error **errp);
  JsonNode *qapi_output_Foo(const Foo *obj);

and for struct and union types the member-level halves, used for bases,
union branches and command arguments:

  bool qapi_input_Foo_members(QapiInput *in, Foo *obj, Error **errp);
  void qapi_output_Foo_members(JsonObject *out, const Foo *obj);

The third argument of qapi_input_Foo() is a pointer to the C type (Foo **
for a struct, Foo * for an enum, int64_t * for an int); qapi_output_Foo()
takes the C type itself.  The built-in types have the same functions,
written by hand in qapi/qapi-input.c and qapi/qapi-output.c
(qapi_input_str(), qapi_output_int(), ...).  See include/qapi/visitor.h
for QapiInput: the input context that knows the path to the current
member (for error messages) and whether the input came from
keyval_parse().
"""

from .common import c_name, wrap_if
from .gen import GenFile
from .schema import (QAPISchemaAlternateType, QAPISchemaArrayType,
                     QAPISchemaEnumType, QAPISchemaObjectType)


def _indent(text, pad='    '):
    return ''.join(pad + line if line.strip() and not line.startswith('#')
                   else line for line in text.splitlines(True))


def gen_input_decl(typ):
    if isinstance(typ, QAPISchemaEnumType):
        ptr = '%s *' % typ.c_name()
    else:
        ptr = '%s **' % typ.c_name()
    return ('bool qapi_input_%s(QapiInput *in, const char *name, '
            'JsonNode *node,\n    %sobj, Error **errp);\n'
            % (typ.c_name(), ptr))


def gen_output_decl(typ):
    if isinstance(typ, QAPISchemaEnumType):
        return 'JsonNode *qapi_output_%s(%s value);\n' % (typ.c_name(),
                                                          typ.c_name())
    return 'JsonNode *qapi_output_%s(const %s *obj);\n' % (typ.c_name(),
                                                          typ.c_name())


def gen_members_decls(typ):
    return ('bool qapi_input_%(c)s_members(QapiInput *in, %(c)s *obj, '
            'Error **errp);\n'
            'void qapi_output_%(c)s_members(JsonObject *out, '
            'const %(c)s *obj);\n' % {'c': typ.c_name()})


def gen_input_member(member):
    """Statements reading member @member of the object being read into
    *obj; they return false on error."""
    cname = c_name(member.name)
    call = ('qapi_input_%s(in, "%s", node, &obj->%s, errp)'
            % (member.type.c_name(), member.name, cname))
    if not member.optional:
        text = ('node = qapi_input_member(in, "%s", errp);\n'
                'if (!node || !%s) {\n'
                '    return false;\n'
                '}\n' % (member.name, call))
    else:
        has = ''
        if member.need_has():
            has = '    obj->has_%s = true;\n' % cname
        text = ('node = qapi_input_optional(in, "%s");\n'
                'if (node) {\n'
                '%s'
                '    if (!%s) {\n'
                '        return false;\n'
                '    }\n'
                '}\n' % (member.name, has, call))
    return wrap_if(member.ifcond, text)


def gen_output_member(member):
    cname = c_name(member.name)
    set_member = ('json_object_set_member(out, "%s", '
                  'qapi_output_%s(obj->%s));\n'
                  % (member.name, member.type.c_name(), cname))
    if member.optional:
        if member.need_has():
            cond = 'obj->has_%s' % cname
        else:
            cond = 'obj->%s' % cname
        text = 'if (%s) {\n    %s}\n' % (cond, set_member)
    else:
        text = set_member
    return wrap_if(member.ifcond, text)


def gen_object_members(typ):
    """qapi_input_Foo_members() and qapi_output_Foo_members()."""
    c = typ.c_name()
    inp = ''
    out = ''
    members = typ.local_members
    if typ.base:
        inp += ('if (!qapi_input_%s_members(in, (%s *)obj, errp)) {\n'
                '    return false;\n'
                '}\n' % (typ.base.c_name(), typ.base.c_name()))
        out += 'qapi_output_%s_members(out, (const %s *)obj);\n' % (
            typ.base.c_name(), typ.base.c_name())
    for member in members:
        inp += gen_input_member(member)
        out += gen_output_member(member)
    if typ.variants:
        tag = typ.variants.tag_member
        in_cases = ''
        out_cases = ''
        for var in typ.variants.variants:
            if var.type.name == 'q_empty' or var.type.is_empty():
                continue
            const = tag.type.c_const(var.name)
            in_cases += wrap_if(var.ifcond, (
                'case %s:\n'
                '    return qapi_input_%s_members(in, &obj->u.%s, errp);\n')
                % (const, var.type.c_name(), c_name(var.name)))
            out_cases += wrap_if(var.ifcond, (
                'case %s:\n'
                '    qapi_output_%s_members(out, &obj->u.%s);\n'
                '    break;\n')
                % (const, var.type.c_name(), c_name(var.name)))
        if in_cases:
            inp += ('switch (obj->%s) {\n%sdefault:\n    break;\n}\n'
                    % (c_name(tag.name), in_cases))
            out += ('switch (obj->%s) {\n%sdefault:\n    break;\n}\n'
                    % (c_name(tag.name), out_cases))
    node_decl = ''
    if members:
        unused = ''
        if all(m.ifcond for m in members):
            unused = ' G_GNUC_UNUSED'
        node_decl = '    JsonNode *node%s;\n\n' % unused
    if not inp:
        inp = '(void)in;\n(void)obj;\n(void)errp;\n'
    if not out:
        out = '(void)out;\n(void)obj;\n'
    return ('bool qapi_input_%(c)s_members(QapiInput *in, %(c)s *obj, '
            'Error **errp)\n'
            '{\n%(decl)s%(inp)s    return true;\n}\n\n'
            'void qapi_output_%(c)s_members(JsonObject *out, '
            'const %(c)s *obj)\n'
            '{\n%(out)s}\n\n'
            % {'c': c, 'decl': node_decl, 'inp': _indent(inp),
               'out': _indent(out)})


def gen_object(typ):
    return ('bool qapi_input_%(c)s(QapiInput *in, const char *name, '
            'JsonNode *node,\n'
            '    %(c)s **obj, Error **errp)\n'
            '{\n'
            '    QapiInputFrame frame;\n'
            '    %(c)s *value;\n'
            '    bool ok;\n\n'
            '    if (!qapi_input_start_struct(in, &frame, name, node, '
            'errp)) {\n'
            '        return false;\n'
            '    }\n'
            '    value = g_new0(%(c)s, 1);\n'
            '    ok = qapi_input_%(c)s_members(in, value, errp) &&\n'
            '         qapi_input_check_struct(in, errp);\n'
            '    qapi_input_end(in, &frame);\n'
            '    if (!ok) {\n'
            '        qapi_free_%(c)s(value);\n'
            '        return false;\n'
            '    }\n'
            '    *obj = value;\n'
            '    return true;\n'
            '}\n\n'
            'JsonNode *qapi_output_%(c)s(const %(c)s *obj)\n'
            '{\n'
            '    JsonObject *out = json_object_new();\n\n'
            '    assert(obj);\n'
            '    qapi_output_%(c)s_members(out, obj);\n'
            '    return qjson_take_object(out);\n'
            '}\n\n' % {'c': typ.c_name()})


def gen_enum(typ):
    return ('bool qapi_input_%(c)s(QapiInput *in, const char *name, '
            'JsonNode *node,\n'
            '    %(c)s *obj, Error **errp)\n'
            '{\n'
            '    int value;\n\n'
            '    if (!qapi_input_enum(in, name, node, &%(c)s_lookup, &value, '
            'errp)) {\n'
            '        return false;\n'
            '    }\n'
            '    *obj = value;\n'
            '    return true;\n'
            '}\n\n'
            'JsonNode *qapi_output_%(c)s(%(c)s value)\n'
            '{\n'
            '    return qapi_output_enum(&%(c)s_lookup, value);\n'
            '}\n\n' % {'c': typ.c_name()})


def gen_array(typ):
    elt = typ.element_type
    return ('bool qapi_input_%(c)s(QapiInput *in, const char *name, '
            'JsonNode *node,\n'
            '    %(c)s **obj, Error **errp)\n'
            '{\n'
            '    QapiInputFrame frame;\n'
            '    %(c)s *head = NULL;\n'
            '    %(c)s **tail = &head;\n'
            '    JsonNode *elt;\n\n'
            '    if (!qapi_input_start_list(in, &frame, name, node, errp)) {\n'
            '        return false;\n'
            '    }\n'
            '    while ((elt = qapi_input_next(in))) {\n'
            '        %(c)s *entry = g_new0(%(c)s, 1);\n\n'
            '        *tail = entry;\n'
            '        tail = &entry->next;\n'
            '        if (!qapi_input_%(elt)s(in, NULL, elt, &entry->value, '
            'errp)) {\n'
            '            qapi_input_end(in, &frame);\n'
            '            qapi_free_%(c)s(head);\n'
            '            return false;\n'
            '        }\n'
            '    }\n'
            '    qapi_input_end(in, &frame);\n'
            '    *obj = head;\n'
            '    return true;\n'
            '}\n\n'
            'JsonNode *qapi_output_%(c)s(const %(c)s *list)\n'
            '{\n'
            '    JsonArray *out = json_array_new();\n\n'
            '    for (; list; list = list->next) {\n'
            '        json_array_add_element(out, '
            'qapi_output_%(elt)s(list->value));\n'
            '    }\n'
            '    return qjson_take_array(out);\n'
            '}\n\n' % {'c': typ.c_name(), 'elt': elt.c_name()})


def gen_alternate(typ):
    c = typ.c_name()
    in_cases = ''
    out_cases = ''
    for var in typ.variants.variants:
        qtype = var.type.alternate_qtype()
        cname = c_name(var.name)
        if isinstance(var.type, QAPISchemaObjectType):
            read = ('if (!qapi_input_start_struct(in, &frame, name, node, '
                    'errp)) {\n'
                    '    break;\n'
                    '}\n'
                    'ok = qapi_input_%(t)s_members(in, &value->u.%(m)s, '
                    'errp) &&\n'
                    '     qapi_input_check_struct(in, errp);\n'
                    'qapi_input_end(in, &frame);\n'
                    % {'t': var.type.c_name(), 'm': cname})
            write = ('JsonObject *out = json_object_new();\n\n'
                     'qapi_output_%s_members(out, &obj->u.%s);\n'
                     'return qjson_take_object(out);\n'
                     % (var.type.c_name(), cname))
            write = '{\n' + _indent(write) + '}\n'
        else:
            read = ('ok = qapi_input_%s(in, name, node, &value->u.%s, errp);\n'
                    % (var.type.c_name(), cname))
            write = 'return qapi_output_%s(obj->u.%s);\n' % (
                var.type.c_name(), cname)
        in_cases += wrap_if(var.ifcond, 'case %s:\n%s    break;\n'
                            % (qtype, _indent(read)))
        out_cases += wrap_if(var.ifcond, 'case %s:\n%s' % (qtype,
                                                            _indent(write)))
    frame_decl = ''
    if 'frame' in in_cases:
        frame_decl = '    QapiInputFrame frame;\n'
    return ('bool qapi_input_%(c)s(QapiInput *in, const char *name, '
            'JsonNode *node,\n'
            '    %(c)s **obj, Error **errp)\n'
            '{\n'
            '%(frame)s'
            '    %(c)s *value = g_new0(%(c)s, 1);\n'
            '    bool ok = false;\n\n'
            '    value->type = qjson_qtype(node);\n'
            '    switch (value->type) {\n'
            '%(in_cases)s'
            '    default:\n'
            '        error_setg(errp, "Invalid parameter type for \'%%s\', '
            'expected: %%s",\n'
            '                   name ? name : "null", "%(name)s");\n'
            '        value->type = QTYPE_NONE;\n'
            '        break;\n'
            '    }\n'
            '    if (!ok) {\n'
            '        qapi_free_%(c)s(value);\n'
            '        return false;\n'
            '    }\n'
            '    *obj = value;\n'
            '    return true;\n'
            '}\n\n'
            'JsonNode *qapi_output_%(c)s(const %(c)s *obj)\n'
            '{\n'
            '    assert(obj);\n'
            '    switch (obj->type) {\n'
            '%(out_cases)s'
            '    default:\n'
            '        abort();\n'
            '    }\n'
            '}\n\n'
            % {'c': c, 'name': typ.name, 'frame': frame_decl,
               'in_cases': _indent(in_cases), 'out_cases': _indent(out_cases)})


class VisitGen:
    def __init__(self, schema, prefix):
        self.schema = schema
        self.prefix = prefix
        self.h = GenFile(prefix + 'qapi-visit.h',
                         'JSON input and output of the QAPI schema types.',
                         schema.fname)
        self.c = GenFile(prefix + 'qapi-visit.c',
                         'JSON input and output of the QAPI schema types.',
                         schema.fname)

    def _add(self, typ, decl, impl):
        self.h.add(wrap_if(typ.ifcond, decl + '\n'))
        self.c.add(wrap_if(typ.ifcond, impl))

    def run(self):
        self.h.preamble_add('#include "qapi/visitor.h"\n'
                            '#include "%sqapi-types.h"\n\n' % self.prefix)
        self.c.preamble_add('#include "qemu/osdep.h"\n\n'
                            '#include "qapi/error.h"\n'
                            '#include "%sqapi-visit.h"\n\n' % self.prefix)
        for typ in self.schema.builtin_arrays():
            self._add(typ, gen_input_decl(typ) + gen_output_decl(typ),
                      gen_array(typ))
        for ent in self.schema.user_entities():
            if isinstance(ent, QAPISchemaEnumType):
                self._add(ent, gen_input_decl(ent) + gen_output_decl(ent),
                          gen_enum(ent))
            elif isinstance(ent, QAPISchemaArrayType):
                self._add(ent, gen_input_decl(ent) + gen_output_decl(ent),
                          gen_array(ent))
            elif isinstance(ent, QAPISchemaObjectType):
                if ent.name == 'q_empty':
                    continue
                decl = gen_members_decls(ent)
                impl = gen_object_members(ent)
                if not ent.is_implicit():
                    decl += gen_input_decl(ent) + gen_output_decl(ent)
                    impl += gen_object(ent)
                self._add(ent, decl, impl)
            elif isinstance(ent, QAPISchemaAlternateType):
                self._add(ent, gen_input_decl(ent) + gen_output_decl(ent),
                          gen_alternate(ent))
        return [self.h, self.c]


def gen_visit(schema, prefix):
    """Return the GenFiles of qapi-visit.[ch] for @schema."""
    return VisitGen(schema, prefix).run()
