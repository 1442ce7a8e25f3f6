#!/bin/sh
# A handler script speaking the synccenter line protocol (see crates/synccenter-runs/src/script.rs).
# Regenerate its fixture with: sh script-sample.sh > script-run.txt 2> script-run.stderr.txt
echo "starting backup of photos"
echo "@synccenter text Scanning photos"
echo "@synccenter progress 0/3 scanning"
echo "@synccenter progress 1/3 copying img1.jpg"
echo "@synccenter progress 2/3 copying img2.jpg"
echo "@synccenter warning img2.jpg has an odd timestamp"
echo "@synccenter progress 3/3 done copying"
echo "@synccenter progress 100%"
echo '@synccenter progress {"done":3145728,"total":3145728,"unit":"bytes","text":"verified"}'
echo '@synccenter conflict {"path":"notes/todo.txt","description":"changed on both sides","versions":[["laptop","modified 2024-05-01 10:00"],["nas","modified 2024-05-01 11:30"]]}'
echo "@synccenter error could not copy img4.jpg: permission denied"
echo '@synccenter error {"message":"checksum mismatch","path":"photos/img5.jpg"}'
echo "@synccenter progress three of ten"
echo "@synccenter frobnicate now"
echo '@synccenter summary {"text":"3 photos copied","files":3,"bytes":3145728,"errors":2}'
echo "plain output is kept as log" >&2
exit 0
