# tests/frontend/local.mk -- tests of the parsing half of the front end.
# moec_asan is `moec check`/`moec ir` (the front end and, for the graph and
# grad stages, the graph IR) built with ASan+UBSan (when configure
# found them; SANITIZE_CFLAGS is empty otherwise). golden.sh compares the
# diagnostics for every bad model file with its .expected; robust.sh feeds
# generated nasty inputs; fuzz.sh runs the libFuzzer target for ~20 s.
check_PROGRAMS += tests/frontend/moec_asan
tests_frontend_moec_asan_SOURCES = tests/frontend/asan_driver.c \
	runtime/cmd_frontend.c runtime/cli_args.c runtime/cli_args.h runtime/commands.h \
	runtime/pipeline.c runtime/pipeline.h runtime/passes.c \
	$(SUPPORT_SOURCES) $(FRONTEND_SOURCES) $(IR_SOURCES)
nodist_tests_frontend_moec_asan_SOURCES = $(FRONTEND_GENERATED)
tests_frontend_moec_asan_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
tests_frontend_moec_asan_LDFLAGS = $(SANITIZE_CFLAGS)
tests_frontend_moec_asan_LDADD = -lm $(LIBS)

TESTS += tests/frontend/golden.sh tests/frontend/robust.sh
dist_check_SCRIPTS += tests/frontend/golden.sh tests/frontend/robust.sh tests/frontend/sanitize.sh
EXTRA_DIST += tests/frontend/bad tests/frontend/ast tests/frontend/dumps tests/frontend/fuzz_frontend.c tests/frontend/fuzz.dict

# The fuzz target is linked by clang with libFuzzer, outside automake's own
# rules (they would use $(CC)); check_SCRIPTS builds it before the tests run.
FUZZ_FRONTEND_SRCS = $(srcdir)/tests/frontend/fuzz_frontend.c \
	$(addprefix $(srcdir)/,$(filter %.c,$(SUPPORT_SOURCES) $(FRONTEND_SOURCES))) \
	$(filter %.c,$(FRONTEND_GENERATED))
if HAVE_LIBFUZZER
check_SCRIPTS = tests/frontend/fuzz_frontend
TESTS += tests/frontend/fuzz.sh
dist_check_SCRIPTS += tests/frontend/fuzz.sh
CLEANFILES += tests/frontend/fuzz_frontend
tests/frontend/fuzz_frontend: $(FUZZ_FRONTEND_SRCS) $(FRONTEND_GENERATED)
	$(AM_V_CCLD)$(MKDIR_P) tests/frontend && \
	$(CLANG) $(MOEC_WARN_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) -o $@ $(FUZZ_FRONTEND_SRCS) $(LIBS)
endif
