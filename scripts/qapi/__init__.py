"""The QAPI schema compiler of qblock.

The package reads a schema written in QEMU's QAPI language (see
docs/qapi.md) and writes the C code that turns JSON into C structs and
back, dispatches QMP commands, sends events and answers query-qmp-schema.

Modules, in the order data flows through them:

  source     where a definition came from (file, line, enclosing definition)
  error      the exceptions that carry a schema error to the user
  parser     text -> expressions (plain Python dicts) and doc comments
  expr       shape checks of each expression on its own
  schema     expressions -> typed entities, with the cross-reference checks
  common     C naming rules and the 'if' condition helper
  gen        output file writer shared by the back ends
  types, visit, commands, events, introspect, doc
             the back ends, one per generated file family
  main       the command line
"""
