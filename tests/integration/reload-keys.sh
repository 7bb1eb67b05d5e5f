# Sourced by fault-reload.sh and kill-reload.sh: the [Key office] tail and
# the sections of the two configs a reload goes between. From OLD to NEW
# office's secret is replaced, partner deleted, stay kept, lab added, and
# `any` takes the catch-alls' place.
OLD_KEYS="SecretFile = $T/office-old.key
[Key partner]
Peer = 192.0.2.10
SecretFile = $T/partner.key
[Key stay]
Peer = 192.0.2.30
SecretFile = $T/stay.key"
NEW_KEYS="SecretFile = $T/office-new.key
[Key stay]
Peer = 192.0.2.30
SecretFile = $T/stay.key
[Key lab]
Peer = 192.0.2.20
SecretFile = $T/lab.key
[Key any]
Peer = any
SecretFile = $T/any.key"
