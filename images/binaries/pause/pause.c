/*
 * pause: the process that holds a pod sandbox's namespaces open.
 *
 * Sleeps until SIGTERM or SIGINT (then exits 0) and reaps every child that is
 * re-parented to it (it runs as PID 1 of the sandbox's PID namespace when the
 * pod shares its process namespace). Built with `gcc -static` so the image
 * needs nothing but this file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "unknown"
#endif

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

static void on_child(int sig) {
	int saved = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	errno = saved;
}

static int install(int sig, void (*handler)(int)) {
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = (sig == SIGCHLD) ? (SA_RESTART | SA_NOCLDSTOP) : 0;
	return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
	if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("pause %s\n", VERSION);
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "pause: warning: not running as PID 1\n");
	if (install(SIGINT, on_stop) < 0 || install(SIGTERM, on_stop) < 0 ||
	    install(SIGCHLD, on_child) < 0) {
		perror("pause: sigaction");
		return 1;
	}
	while (!stop_signal)
		pause();
	fprintf(stderr, "pause: shutting down, got signal %d\n", (int)stop_signal);
	return 0;
}
