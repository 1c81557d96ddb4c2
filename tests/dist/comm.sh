#!/bin/sh
# tests/dist/comm.sh -- runtime/dist/comm.h alone (tests/dist/comm_main.c) on
# 2 and 3 MPI ranks, through the shared-memory window and through MPI's
# collectives (MOEC_NO_SHM=1); skips when moec is built without MPI.
moec="${top_builddir:-.}/moec"
prog="${top_builddir:-.}/tests/dist/comm_main"
if ! "$moec" --version | grep -q "^distributed: *MPI" || ! command -v mpirun >/dev/null 2>&1; then
    echo "1..0 # SKIP moec built without MPI, or no mpirun"; exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
n=0 failed=0
for ranks in 2 3; do
    for way in shm mpi; do
        if [ $way = mpi ]; then out=$(mpirun -np $ranks -x MOEC_NO_SHM=1 "$prog" 2>&1); else out=$(mpirun -np $ranks "$prog" 2>&1); fi
        st=$?
        # renumber the program's cases into this script's plan
        echo "$out" | grep -E '^(not )?ok ' > cases.tmp
        while IFS= read -r line; do
            n=$((n + 1))
            case $line in
                "not ok"*) failed=$((failed + 1)); echo "not ok $n - $way: ${line#not ok * - }" ;;
                *) echo "ok $n - $way: ${line#ok * - }" ;;
            esac
        done < cases.tmp
        n=$((n + 1))
        if [ $st = 0 ] && [ -s cases.tmp ]; then echo "ok $n - $ranks ranks ($way): the program ends well"
        else failed=$((failed + 1)); echo "not ok $n - $ranks ranks ($way): exit $st"; echo "$out" | sed 's/^/# /' | tail -20; fi
    done
done
rm -f cases.tmp
echo "1..$n"
[ $failed = 0 ]
