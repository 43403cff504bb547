"""The data plane: a typed snapshot of desired state, a pure nginx config compiler, and the node applier.

Plain Python by design: this package never imports Django. The control plane builds a
`nginx.model.Snapshot` from PostgreSQL and calls `nginx.compiler.compile_config`; the node agent
calls `nginx.applier.NodeApplier.apply` with the compiled files. Only `applier` and `process`
touch the filesystem or other processes.
"""
