# runtime/report/local.mk -- `moec report`: run directories read, grouped by
# configuration, summarised as report.md, report.html, gnuplot plots and
# results.json (doc/report.md).
# Everything but the token-type analysis, which runs the model (so the
# report's own test links these with sanitizers and without the runtime).
REPORT_TEST_SOURCES = \
	runtime/json_file.h runtime/json_file.c \
	runtime/report/run.h runtime/report/run_read.c \
	runtime/report/stats.h runtime/report/stats.c \
	runtime/report/doc.h runtime/report/doc.c \
	runtime/report/report_md.c runtime/report/report_html.c \
	runtime/report/gnuplot.h runtime/report/gnuplot.c \
	runtime/report/plots.h runtime/report/plots.c \
	runtime/report/build.h runtime/report/build.c \
	runtime/report/results.h runtime/report/results.c
libmoec_runtime_a_SOURCES += $(REPORT_TEST_SOURCES) \
	runtime/report/token_types.h runtime/report/token_types.c
