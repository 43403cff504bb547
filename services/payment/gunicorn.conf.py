"""gunicorn configuration of the payment service, read automatically from the working directory.

The launcher runs `python -m gunicorn payment.wsgi:application -b HOST:PORT -w 2` in services/payment;
the hooks that make the workers of one instance share fault knobs, the drain flag and metrics live in
payment.gunicorn_hooks (typed and checked). Do not add `--preload`: metrics must be set up after the
runtime directory exists.
"""

from payment import gunicorn_hooks

# gunicorn >= 25 opens a control socket at one fixed path per user ($HOME/.gunicorn/gunicorn.ctl), which
# every replica on the machine would fight over; the launcher manages the replicas by PID instead.
control_socket_disable = True
logconfig_dict = gunicorn_hooks.LOGCONFIG
on_starting = gunicorn_hooks.on_starting
when_ready = gunicorn_hooks.when_ready
child_exit = gunicorn_hooks.child_exit
