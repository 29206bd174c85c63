# The ssh-converge job in pyinfra: render the nginx site, check it with nginx -t, sync 10 files, keep curl
# installed, keep nginx running and enabled, reload nginx when the site changed.
import os

from pyinfra.operations import apt, files, server, systemd

HERE = os.path.dirname(os.path.abspath(__file__))

site = files.template(
    name="nginx site",
    src=os.path.join(HERE, "bench.conf.j2"),
    dest="/etc/nginx/sites-enabled/otto-bench.conf",
    mode="644",
    tool="pyinfra",
    listen=80,
    server_name="bench.test",
    root="/srv/www/bench",
)
server.shell(name="nginx -t", commands=["nginx -t -q"], _if=site.did_change)
files.sync(name="content", src=os.path.join(HERE, "www"), dest="/srv/www/bench", mode="644", dir_mode="755", delete=True)
apt.packages(name="packages", packages=["curl"], present=True)
systemd.service(name="nginx running and enabled", service="nginx", running=True, enabled=True)
systemd.service(name="reload nginx", service="nginx", reloaded=True, _if=site.did_change)
