#ifndef SWAPSCRIPT_CREADLINE_SHIM_H
#define SWAPSCRIPT_CREADLINE_SHIM_H
#include <stdio.h>
#include <stdlib.h>
#include <readline/readline.h>
#include <readline/history.h>

// Swift 6 rejects direct access to readline's mutable C globals, so every global the REPL
// needs is reached through one of these functions.

typedef char **(*swap_rl_completion_fn)(const char *, int, int);

static inline void swap_rl_set_completion(swap_rl_completion_fn fn) {
    rl_attempted_completion_function = (rl_completion_func_t *)fn;
}
static inline void swap_rl_set_completion_append_character(int c) { rl_completion_append_character = c; }
static inline void swap_rl_set_attempted_completion_over(int v) { rl_attempted_completion_over = v; }
static inline void swap_rl_set_basic_word_break_characters(const char *s) {
    rl_basic_word_break_characters = (char *)s;
}
static inline void swap_rl_set_readline_name(const char *name) { rl_readline_name = name; }
static inline const char *swap_rl_line_buffer(void) { return rl_line_buffer; }
static inline int swap_rl_point(void) { return rl_point; }
static inline void swap_rl_set_catch_signals(int v) { rl_catch_signals = v; }
static inline void swap_rl_set_done(int v) { rl_done = v; }
static inline void swap_rl_set_event_hook(int (*hook)(void)) { rl_event_hook = hook; }
static inline char **swap_rl_completion_matches(const char *text, rl_compentry_func_t *gen) {
    return rl_completion_matches(text, gen);
}
static inline void swap_rl_set_completer_quote_characters(const char *s) {
    rl_completer_quote_characters = (char *)s;
}
static inline void swap_rl_set_filename_completion_desired(int v) { rl_filename_completion_desired = v; }
static inline void swap_rl_set_completion_suppress_append(int v) { rl_completion_suppress_append = v; }
static inline int swap_rl_completion_quote_character(void) { return rl_completion_quote_character; }
static inline void swap_rl_set_keyboard_input_timeout_us(int us) { rl_set_keyboard_input_timeout(us); }
static inline void swap_rl_clear_line(void) { rl_replace_line("", 0); rl_point = 0; rl_end = 0; }
static inline int swap_history_length(void) { return history_length; }
#endif
