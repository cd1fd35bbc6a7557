# Entry points. Everything happens in scripts/; logs go to build/logs.
#   make demo     build the patched x86_64 kernel, boot the VT-d machine and
#                 show what a reset does to an ATS device
#   make check [STAGES=gates,x86-legacy,...]
#                 every gate and test (or the stages and guests named);
#                 ends with "N passed, N failed, N skipped"
#   make bench    the series against the base: DMA map/unmap, FLR, quarantine
#   make stress [PART=stress|stress-unplug|scale]
#                 the long stress and scale runs on the debug kernel
#   make figures  put the figures of the last make check into README.md
#   make guest NAME=x86-legacy [SUITES=pci-reset] [DRY_RUN=1]
#                 build what one guest of tests/guests.tsv needs from
#                 build/linux as it is, boot it once, print its results
#   make tree     fetch the base and apply series/ in build/linux
#   make export   write build/linux's commits back to series/
#   make kernel [FLAVOUR=x86]
#                 one kernel of configs/flavours.tsv
.PHONY: demo check bench stress figures guest tree export kernel deps clean

demo:
	@scripts/demo.sh

check:
	@STAGES="$(STAGES)" scripts/check.sh

bench:
	@scripts/bench.sh

stress:
	@PART="$(PART)" scripts/stress.sh

figures:
	@scripts/readme-figures.py

guest:
	@DRY_RUN="$(DRY_RUN)" scripts/guest-run.sh "$(NAME)" "$(SUITES)"

deps:
	@scripts/deps.sh all

tree: deps
	@scripts/tree.sh

export:
	@scripts/export.sh

FLAVOUR ?= x86
kernel: tree
	@scripts/kernel.sh $(FLAVOUR)

# Removes build products but keeps build/linux (it may hold unexported work).
clean:
	rm -rf build/kernel-* build/base/kernel-* build/base-shifted/kernel-* build/analysis-* build/guests build/results build/kselftest* build/guest-programs build/bench build/stress build/logs
