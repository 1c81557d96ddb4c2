# frontend/parse.mk -- lexer.l and parser.y (generated into the build tree), the AST printer.
FRONTEND_GENERATED += frontend/parser.c frontend/parser.h frontend/lexer.c frontend/lexer.h
FRONTEND_SOURCES += \
	frontend/parse_state.h frontend/parse_build.c frontend/parse_lex.c frontend/ast_print.c
BUILT_SOURCES += frontend/parser.h frontend/lexer.h
EXTRA_DIST += frontend/parser.y frontend/lexer.l
CLEANFILES += $(FRONTEND_GENERATED) frontend/parser.output

frontend/parser.c: $(srcdir)/frontend/parser.y
	$(AM_V_GEN)$(MKDIR_P) frontend && \
	$(BISON) -Wall -Werror --defines=frontend/parser.h -o frontend/parser.c $(srcdir)/frontend/parser.y
frontend/parser.h: frontend/parser.c
	@test -f $@ || { rm -f frontend/parser.c; $(MAKE) $(AM_MAKEFLAGS) frontend/parser.c; }
frontend/lexer.c: $(srcdir)/frontend/lexer.l frontend/parser.h
	$(AM_V_GEN)$(MKDIR_P) frontend && \
	$(FLEX) --header-file=frontend/lexer.h -o frontend/lexer.c $(srcdir)/frontend/lexer.l
frontend/lexer.h: frontend/lexer.c
	@test -f $@ || { rm -f frontend/lexer.c; $(MAKE) $(AM_MAKEFLAGS) frontend/lexer.c; }

# parser.c includes lexer.h, which BUILT_SOURCES makes only for `make all` and
# `make check`: say so, so that `make moec` alone builds too.
frontend/parser.$(OBJEXT) frontend/tests_frontend_moec_asan-parser.$(OBJEXT): frontend/lexer.h
