"""Back end: qapi-events.h / qapi-events.c.

For each event FOO_BAR:

  void qapi_event_send_foo_bar(args...);

builds the event's "data" object from its arguments (the same parameter
rules as a command handler's, see commands.py) and passes it to
qapi_event_emit(), which the monitor implements.  An event without 'data'
emits NULL data (QEMU then sends no "data" member).  The header also
defines enum QAPIEvent (QAPI_EVENT_FOO_BAR) with its lookup table.
"""

from .common import c_enum_const, c_name, wrap_if
from .gen import GenFile
from .commands import _join_decl
from .schema import QAPISchemaEvent


def event_params(event):
    if not event.arg_type:
        return ['void']
    if event.boxed:
        return ['const %s *arg' % event.arg_type.c_name()]
    params = []
    for member in event.arg_type.members:
        if member.need_has():
            params.append('bool has_%s' % c_name(member.name))
        ctype = member.type.c_param_type()
        sep = '' if ctype.endswith('*') else ' '
        params.append('%s%s%s' % (ctype, sep, c_name(member.name)))
    return params


def gen_event_send(event):
    head = 'void qapi_event_send_%s' % c_name(event.name.lower())
    params = event_params(event)
    decl = _join_decl(head, params)
    if not event.arg_type or event.arg_type.is_empty():
        body = '    qapi_event_emit("%s", NULL);\n' % event.name
    elif event.boxed:
        body = ('    JsonObject *data = json_object_new();\n\n'
                '    qapi_output_%s_members(data, arg);\n'
                '    qapi_event_emit("%s", data);\n'
                % (event.arg_type.c_name(), event.name))
    else:
        inits = ''
        for member in event.arg_type.members:
            cname = c_name(member.name)
            text = ''
            if member.need_has():
                text += '        .has_%s = has_%s,\n' % (cname, cname)
            cast = ''
            if member.type.c_param_type() != member.type.c_type():
                cast = '(%s)' % member.type.c_type()
            text += '        .%s = %s%s,\n' % (cname, cast, cname)
            inits += wrap_if(member.ifcond, text)
        body = ('    %(t)s param = {\n%(inits)s    };\n'
                '    JsonObject *data = json_object_new();\n\n'
                '    qapi_output_%(t)s_members(data, &param);\n'
                '    qapi_event_emit("%(name)s", data);\n'
                % {'t': event.arg_type.c_name(), 'inits': inits,
                   'name': event.name})
    return decl + ';\n', decl + '\n{\n' + body + '}\n\n'


def gen_events(schema, prefix):
    """Return the GenFiles of qapi-events.[ch] for @schema."""
    h = GenFile(prefix + 'qapi-events.h',
                'QMP events of the QAPI schema.', schema.fname)
    c = GenFile(prefix + 'qapi-events.c',
                'QMP events of the QAPI schema.', schema.fname)
    c_prefix = c_name(prefix, protect=False)
    enum = c_prefix + 'QAPIEvent'
    h.preamble_add('#include "qapi/qmp-dispatch.h"\n'
                   '#include "%sqapi-types.h"\n\n' % prefix)
    c.preamble_add('#include "qemu/osdep.h"\n\n'
                   '#include "%sqapi-events.h"\n'
                   '#include "%sqapi-visit.h"\n\n' % (prefix, prefix))
    events = [e for e in schema.user_entities()
              if isinstance(e, QAPISchemaEvent)]
    values = ''
    lookup = ''
    for event in events:
        const = c_enum_const(enum, event.name, 'QAPI_EVENT')
        values += wrap_if(event.ifcond, '    %s,\n' % const)
        lookup += wrap_if(event.ifcond, '        [%s] = "%s",\n'
                          % (const, event.name))
    h.add('typedef enum %(e)s {\n%(values)s    QAPI_EVENT__MAX,\n} %(e)s;\n\n'
          'extern const QEnumLookup %(e)s_lookup;\n\n'
          % {'e': enum, 'values': values})
    c.add('const QEnumLookup %s_lookup = {\n'
          '    .array = (const char *const[]) {\n%s    },\n'
          '    .size = QAPI_EVENT__MAX,\n'
          '};\n\n' % (enum, lookup))
    for event in events:
        decl, impl = gen_event_send(event)
        h.add(wrap_if(event.ifcond, decl + '\n'))
        c.add(wrap_if(event.ifcond, impl))
    return [h, c]
