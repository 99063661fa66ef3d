# serverlab — build every stage into bin/, run the tests, grade, bench.
#
#   make                 all stages (bin/stage01 … bin/stage12, bin/stage11-client)
#   make stage07         one stage
#   make SAN=1           the same, built with AddressSanitizer + UBSan
#   make run [STAGE=…]   build and start a stage on port 8080 serving html/
#   make test            unit tests + every bats suite; last line "N passed, N failed"
#   make grade STAGE=stage07 SERVER=path/to/binary
#   make handout         the student kit: dist/serverlab-handout/ and .tar.gz
#   make grade-class STAGE=stage07 SUBMISSIONS=dir   grades/stage07.csv, isolated
#   make diff B=stage07 [A=stage06]   (A defaults to the stage B was written from)
#   make bench [QUICK=1] [STAGES="…"]   make c10k [CONNS=100000]   make fuzz   make lint   make valgrind
#   make mutants         build the classic student bugs (tests/mutants/), check the suites catch each
#   make mutant NAME=et-one-bite         build one as bin/stage10-et-one-bite and show its diff

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -Icommon -MMD -MP
LDLIBS  += -pthread

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
OBJ     := bin/obj-san
else
OBJ     := bin/obj
endif

# A stage is stages/stageNN_name.c, or a folder stages/stageNN_name/ whose
# client*.c files make bin/stageNN-client, shared*.c go into both programs,
# and every other .c file makes bin/stageNN.
STAGE_FILES := $(sort $(wildcard stages/stage[0-9][0-9]_*.c))
STAGE_DIRS  := $(sort $(patsubst %/,%,$(dir $(wildcard stages/stage[0-9][0-9]_*/*.c))))
stage_id     = $(firstword $(subst _, ,$(notdir $(1))))
STAGES      := $(sort $(foreach s,$(STAGE_FILES) $(STAGE_DIRS),$(call stage_id,$(s))))

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(OBJ)/%.o)
COMMON_LIB := $(OBJ)/libcommon.a

# Helper programs for tests and the bench: tests/tools/x.c and bench/x.c -> bin/x
TOOL_SRC := $(wildcard tests/tools/*.c bench/*.c)
TOOLS    := $(foreach t,$(TOOL_SRC),bin/$(basename $(notdir $(t))))

# Unit tests: tests/unit/test_x.c -> bin/test_x
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS    := $(UNIT_SRC:tests/unit/%.c=bin/%)

CLIENTS := $(foreach d,$(STAGE_DIRS),$(if $(wildcard $(d)/client*.c),bin/$(call stage_id,$(d))-client))

.PHONY: all $(STAGES) tools units clean run test grade diff bench bench-deps bench-notes \
        c10k syscalls fuzz lint valgrind deps mutants mutant handout grade-class
all: $(STAGES:%=bin/%) $(CLIENTS) tools units

tools: $(TOOLS)
units: $(UNITS)

# Objects of the two builds live apart, but the programs share bin/: a stamp
# per object tree recompiles when the flags change, and bin/.flags relinks
# every program when we switch between the plain and the sanitizer build.
$(OBJ)/.flags bin/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@
FORCE:
LINK = $(CC) $(LDFLAGS) $(filter %.o %.a,$^) -o $@ $(LDLIBS)

$(OBJ)/%.o: %.c $(OBJ)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ)
	$(AR) rcs $@ $^

# One rule set per stage, generated from what exists in stages/.
define single_file_stage
$(call stage_id,$(1)): bin/$(call stage_id,$(1))
bin/$(call stage_id,$(1)): $(OBJ)/$(1:.c=.o) $(COMMON_LIB) bin/.flags
	$$(LINK)
endef
define folder_stage
$(call stage_id,$(1)): bin/$(call stage_id,$(1)) $(if $(wildcard $(1)/client*.c),bin/$(call stage_id,$(1))-client)
bin/$(call stage_id,$(1)): $(patsubst %.c,$(OBJ)/%.o,$(filter-out $(1)/client%,$(wildcard $(1)/*.c))) $(COMMON_LIB) bin/.flags
	$$(LINK)
bin/$(call stage_id,$(1))-client: $(patsubst %.c,$(OBJ)/%.o,$(wildcard $(1)/client*.c $(1)/shared*.c)) $(COMMON_LIB) bin/.flags
	$$(LINK)
endef
$(foreach s,$(STAGE_FILES),$(eval $(call single_file_stage,$(s))))
$(foreach d,$(STAGE_DIRS),$(eval $(call folder_stage,$(d))))

define tool_program
bin/$(basename $(notdir $(1))): $(OBJ)/$(1:.c=.o) $(COMMON_LIB) bin/.flags
	$$(LINK)
endef
$(foreach t,$(TOOL_SRC),$(eval $(call tool_program,$(t))))

bin/test_%: $(OBJ)/tests/unit/test_%.o $(COMMON_LIB) bin/.flags
	$(LINK)

clean:
	rm -rf bin

# --- running -----------------------------------------------------------------
STAGE ?= $(lastword $(filter-out stage11,$(STAGES)))
PORT  ?= 8080
# Without STAGE=, the newest stage runs; where it cannot start (stage13 exits
# 2 where io_uring is refused, as in many containers) stage12 runs instead.
FALLBACK := $(if $(filter file,$(origin STAGE)),$(filter-out $(STAGE),stage12))
run: bin/$(STAGE) $(if $(FALLBACK),bin/$(FALLBACK))
	@echo "bin/$(STAGE) -p $(PORT) -r html"; bin/$(STAGE) -p $(PORT) -r html || { \
	    status=$$?; [ $$status = 2 ] && [ -n "$(FALLBACK)" ] || exit $$status; \
	    echo "make run: $(STAGE) could not start; running $(FALLBACK) instead"; \
	    exec bin/$(FALLBACK) -p $(PORT) -r html; }

# `make diff B=stage07` shows what stage07 adds to the stage it was written
# from (A= compares with another).  Stages 03-06 each start again from 02.
# A folder stage is compared through the file that carries its idea.
PARENT_stage02 := stage01
PARENT_stage03 := stage02
PARENT_stage04 := stage02
PARENT_stage05 := stage02
PARENT_stage06 := stage02
PARENT_stage07 := stage06
PARENT_stage08 := stage07
PARENT_stage09 := stage08
PARENT_stage10 := stage09
PARENT_stage11 := stage03
PARENT_stage12 := stage10
PARENT_stage13 := stage12
IDEA_FILE_stage06 := co_server.c
IDEA_FILE_stage11 := server.c
IDEA_FILE_stage12 := worker.c
IDEA_FILE_stage13 := worker.c
idea_file = $(firstword $(wildcard stages/$(1)_*.c stages/$(1)_*/$(IDEA_FILE_$(1))))
DIFF_A = $(or $(A),$(PARENT_$(B)))
diff:
	@test -n "$(B)" -a -n "$(call idea_file,$(B))" -a -n "$(call idea_file,$(DIFF_A))" || \
	    { echo "usage: make diff B=stage07 [A=stage06]  (A: the stage B was written from)"; exit 2; }
	@diff -u --color=auto $(call idea_file,$(DIFF_A)) $(call idea_file,$(B)) || true

# --- tests, grading, measuring (each is a script you can read) ------------------
deps:
	@tests/deps.sh bats curl

test: all deps
	@tests/run.sh

grade: deps
	@test -n "$(STAGE)" || { echo "usage: make grade STAGE=stage07 SERVER=path/to/binary"; exit 2; }
	@$(if $(SERVER),,$(MAKE) --no-print-directory $(STAGE) &&) tests/grade.sh $(STAGE) $(SERVER)

# A mutant is built from a copy of the sources in bin/mutants/ (see tests/mutants/run.sh).
mutants: all deps
	@tests/mutants/run.sh

mutant:
	@test -n "$(NAME)" || { echo "usage: make mutant NAME=et-one-bite   (one of: $(basename $(notdir $(filter-out %/run.sh,$(wildcard tests/mutants/*.sh)))))"; exit 2; }
	@tests/mutants/run.sh --build $(NAME)

# The course kit: the student handout, and grading a whole class, each
# submission isolated (tests/grade_class.sh says how; see README "Grading").
handout:
	@tests/handout.sh dist/serverlab-handout

grade-class: tools deps
	@test -n "$(STAGE)" -a -n "$(SUBMISSIONS)" || \
	    { echo "usage: make grade-class STAGE=stage07 SUBMISSIONS=dir [GRADES=grades]"; exit 2; }
	@GRADES="$(or $(GRADES),grades)" tests/grade_class.sh $(STAGE) $(SUBMISSIONS)

bench: all
	@tests/deps.sh wrk curl strace iproute2
	@bench/run.sh

bench-deps:
	@tests/deps.sh wrk nginx-light strace

bench-notes:
	@bench/notes.sh

# make c10k CONNS=100000: CONNS on the command line is the connection count
# (a CONNS in the environment is bench's knob, and is not taken here)
c10k: all
	@$(if $(filter command line,$(origin CONNS)),C10K_CONNS=$(CONNS) )bench/c10k.sh

# STAGE=stage13 works for c10k too; syscalls compares stage12 and stage13 (strace -c)
syscalls: all
	@tests/deps.sh strace
	@bench/syscalls.sh

fuzz:
	@tests/deps.sh clang libclang-rt-14-dev
	@tests/fuzz/run.sh

lint:
	@tests/deps.sh cppcheck clang-tidy clang-format
	@tests/lint.sh

valgrind: all deps
	@tests/deps.sh valgrind
	@tests/valgrind.sh

-include $(shell find bin -name '*.d' 2>/dev/null)
