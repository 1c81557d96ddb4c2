%define api.pure full
%code { int yylex(void *lval); static void yyerror(const char *s) { (void)s; } }
%token X
%%
start: X ;
%%
