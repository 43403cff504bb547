"""kubesim — a simulated Kubernetes API server for the appliance's tests and local demo.

No real cluster can run on the development machines, so kubesim speaks the parts of the
Kubernetes API the appliance uses (Namespaces, Services, EndpointSlices, Deployments and their
``scale`` subresource, HorizontalPodAutoscalers; list/watch with resourceVersions; selectors;
404/409/410/422 Status errors; token auth and minimal RBAC) over real HTTP, so the official
client and kubectl work against it unmodified. Its "kubelet" runs Deployment replicas as local
processes on their own loopback ports. It is labelled as simulated wherever it shows up.

Start it with ``python -m tests.kubesim`` or, in tests, ``tests.kubesim.harness.KubeSim``.
See README.md in this directory for what is simulated and how.
"""
