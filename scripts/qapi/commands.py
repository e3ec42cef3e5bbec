"""Back end: qapi-commands.h / qapi-commands.c.

For each command 'foo-bar' the header declares the handler that some other
file implements, and the marshaller generated here:

  RetType *qmp_foo_bar(args..., Error **errp);   with 'returns'
  bool qmp_foo_bar(args..., Error **errp);       without
  bool qmp_marshal_foo_bar(JsonObject *args, JsonNode **ret, Error **errp);

Arguments are the members of 'data' in order.  An optional member whose C
type is not a pointer comes as 'bool has_x, T x'; an optional pointer is
NULL when absent.  With 'boxed': true the handler takes one 'Foo *arg'.
The marshaller owns the arguments and frees them after the call: a
handler that keeps one must copy it.  The handler gives the marshaller
ownership of its return value.

qmp_init_marshal(cmds) registers every command with its options.  A
command with 'gen': false gets no marshaller here, but is registered all
the same: its qmp_marshal_NAME() is written by hand (query-qmp-schema).
"""

from .common import c_name, wrap_if
from .gen import GenFile
from .schema import QAPISchemaBuiltinType, QAPISchemaCommand


def handler_params(cmd):
    """The handler's parameter list (C text, without errp)."""
    if not cmd.arg_type:
        return []
    if cmd.boxed:
        return ['%s *arg' % cmd.arg_type.c_name()]
    params = []
    for member in cmd.arg_type.members:
        if member.need_has():
            params.append('bool has_%s' % c_name(member.name))
        ctype = member.type.c_param_type()
        sep = '' if ctype.endswith('*') else ' '
        params.append('%s%s%s' % (ctype, sep, c_name(member.name)))
    return params


def ret_c_type(cmd):
    if not cmd.ret_type:
        return 'bool'
    return cmd.ret_type.c_type()


def _join_decl(head, params):
    """'head(p1, p2, ...)' wrapped at about 80 columns."""
    text = head + '('
    pad = ' ' * len(text)
    line = text
    out = ''
    for i, param in enumerate(params):
        piece = param + (', ' if i + 1 < len(params) else ')')
        if len(line) + len(piece.rstrip()) > 79 and line.strip() != \
                text.strip():
            out += line.rstrip() + '\n'
            line = pad
        line += piece
    return out + line


def gen_handler_decl(cmd):
    ctype = ret_c_type(cmd)
    sep = '' if ctype.endswith('*') else ' '
    co = 'coroutine_fn ' if cmd.coroutine else ''
    head = '%s%s%sqmp_%s' % (ctype, sep, co, c_name(cmd.name))
    return _join_decl(head, handler_params(cmd) + ['Error **errp']) + ';\n'


def gen_marshal_decl(cmd):
    co = 'coroutine_fn ' if cmd.coroutine else ''
    return ('bool %sqmp_marshal_%s(JsonObject *args, JsonNode **ret, '
            'Error **errp);\n' % (co, c_name(cmd.name)))


def gen_marshal(cmd):
    name = c_name(cmd.name)
    co = 'coroutine_fn ' if cmd.coroutine else ''
    decls = '    QapiInput in;\n    QapiInputFrame frame;\n'
    parse = ('    qapi_input_init(&in, false);\n'
             '    qapi_input_push_object(&in, &frame, NULL, args);\n')
    free = ''
    if cmd.arg_type and not cmd.arg_type.is_empty():
        atype = cmd.arg_type.c_name()
        decls += '    %s arg = { 0 };\n' % atype
        parse += ('    ok = qapi_input_%s_members(&in, &arg, errp) &&\n'
                  '         qapi_input_check_struct(&in, errp);\n' % atype)
        free = '    qapi_free_%s_members(&arg);\n' % atype
        if cmd.boxed:
            args = ['&arg']
        else:
            args = []
            for member in cmd.arg_type.members:
                if member.need_has():
                    args.append('arg.has_%s' % c_name(member.name))
                args.append('arg.%s' % c_name(member.name))
    else:
        parse += '    ok = qapi_input_check_struct(&in, errp);\n'
        args = ['&arg'] if cmd.boxed else []
        if cmd.boxed:
            decls += '    %s arg = { 0 };\n' % cmd.arg_type.c_name()
    parse += '    qapi_input_end(&in, &frame);\n'
    decls += '    bool ok;\n'

    call_args = args + ['&err' if cmd.ret_type else 'errp']
    if cmd.ret_type:
        rtype = cmd.ret_type
        ctype = rtype.c_type()
        sep = '' if ctype.endswith('*') else ' '
        decls += '    Error *err = NULL;\n    %s%sretval;\n' % (ctype, sep)
        if isinstance(rtype, QAPISchemaBuiltinType) and rtype.name == 'any':
            store = '*ret = retval;\n'
        else:
            store = '*ret = qapi_output_%s(retval);\n' % rtype.c_name()
            if rtype.name == 'str':
                store += 'g_free(retval);\n'
            elif rtype.is_pointer() and not isinstance(
                    rtype, QAPISchemaBuiltinType):
                store += 'qapi_free_%s(retval);\n' % rtype.c_name()
        body = ('    if (ok) {\n'
                '%s;\n'
                '        if (err) {\n'
                '            error_propagate(errp, err);\n'
                '            ok = false;\n'
                '        } else {\n'
                '%s'
                '        }\n'
                '    }\n'
                % (_join_decl('        retval = qmp_%s' % name, call_args),
                   ''.join('            ' + line
                           for line in store.splitlines(True))))
    else:
        body = ('    if (ok) {\n'
                '%s;\n'
                '    }\n' % _join_decl('        ok = qmp_%s' % name,
                                       call_args))
    return ('bool %sqmp_marshal_%s(JsonObject *args, JsonNode **ret, '
            'Error **errp)\n'
            '{\n%s\n%s%s%s    return ok;\n}\n\n'
            % (co, name, decls, parse, body, free))


def gen_register(cmd):
    opts = []
    if not cmd.success_response:
        opts.append('QCO_NO_SUCCESS_RESP')
    if cmd.allow_oob:
        opts.append('QCO_ALLOW_OOB')
    if cmd.coroutine:
        opts.append('QCO_COROUTINE')
    return wrap_if(cmd.ifcond,
                   '    qmp_register_command(cmds, "%s", qmp_marshal_%s,\n'
                   '                         %s);\n'
                   % (cmd.name, c_name(cmd.name),
                      ' | '.join(opts) or 'QCO_NO_OPTIONS'))


def gen_commands(schema, prefix):
    """Return the GenFiles of qapi-commands.[ch] for @schema."""
    h = GenFile(prefix + 'qapi-commands.h',
                'QMP command handlers and marshallers of the QAPI schema.',
                schema.fname)
    c = GenFile(prefix + 'qapi-commands.c',
                'QMP command marshallers of the QAPI schema.', schema.fname)
    c_prefix = c_name(prefix, protect=False)
    h.preamble_add('#include "qapi/qmp-dispatch.h"\n'
                   '#include "%sqapi-types.h"\n\n' % prefix)
    c.preamble_add('#include "qemu/osdep.h"\n\n'
                   '#include "qapi/error.h"\n'
                   '#include "%sqapi-commands.h"\n'
                   '#include "%sqapi-visit.h"\n\n' % (prefix, prefix))
    registers = ''
    for ent in schema.user_entities():
        if not isinstance(ent, QAPISchemaCommand):
            continue
        decl = gen_marshal_decl(ent)
        if ent.gen:
            decl = gen_handler_decl(ent) + decl
            c.add(wrap_if(ent.ifcond, gen_marshal(ent)))
        h.add(wrap_if(ent.ifcond, decl + '\n'))
        registers += gen_register(ent)
    h.add('/* Register every command of the schema in @cmds. */\n'
          'void %sqmp_init_marshal(QmpCommandList *cmds);\n' % c_prefix)
    c.add('void %sqmp_init_marshal(QmpCommandList *cmds)\n'
          '{\n'
          '    QTAILQ_INIT(cmds);\n'
          '%s'
          '}\n' % (c_prefix, registers))
    return [h, c]
