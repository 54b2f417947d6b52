# SPDX-License-Identifier: BSD-2-Clause
# tests/boot/lib/tpm.bash - a software TPM 2.0 (swtpm, socket mode) for a guest.  Sourced after common.bash.
#
#   with_tpm        starts swtpm for the current case ($C/tpm) and adds the QEMU options (tpm-tis on q35)
#   stop_tpm        ends that swtpm (also done for every started one at exit)
# swtpm exits by itself when QEMU closes its control channel (--flags not-need-init, startup-clear: the firmware
# sees a TPM that was started like a power-on).
TPM_PIDS=()

with_tpm() {
	mkdir -p "$C/tpm"
	rm -f "$C/tpm/ctrl.sock"
	swtpm socket --tpm2 --tpmstate "dir=$C/tpm" --ctrl "type=unixio,path=$C/tpm/ctrl.sock" \
		--flags not-need-init,startup-clear --log "file=$C/tpm/swtpm.log" >/dev/null 2>&1 &
	TPM_PID=$!
	TPM_PIDS+=("$TPM_PID")
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S $C/tpm/ctrl.sock ]] && break
		sleep 0.1
	done
	QEMU_EXTRA+=(-chardev "socket,id=chrtpm,path=$C/tpm/ctrl.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm
		-device tpm-tis,tpmdev=tpm0)
}

stop_tpm() {
	[[ -n ${TPM_PID:-} ]] && kill "$TPM_PID" 2>/dev/null
	wait "${TPM_PID:-}" 2>/dev/null
	TPM_PID=
}

stop_all_tpms() {
	local p
	for p in "${TPM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	return 0
}
trap 'stop_all_tpms; cleanup_work' EXIT
