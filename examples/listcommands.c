/*
 * The classic first AMI program: log in and list the actions the server
 * offers, with their descriptions.
 *
 *   AMI_SECRET=... ./listcommands 127.0.0.1 5038 admin
 *
 * The secret comes from the environment so that it does not show up in
 * `ps` or in the shell history.
 */
#include <ami/client.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(ami_client *c, const char *what, int rc)
{
    fprintf(stderr, "listcommands: %s: %s\n", what, c ? ami_client_errmsg(c) : ami_strerror(rc));
    ami_client_free(c);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: AMI_SECRET=<secret> %s <host> <port> <user>\n", argv[0]);
        return 2;
    }
    const char *secret = getenv("AMI_SECRET");
    if (!secret) {
        fprintf(stderr, "listcommands: set AMI_SECRET to the user's secret\n");
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[2], NULL, 10);

    ami_client *c = NULL;
    int rc = ami_client_create(&c);
    if (rc != 0)
        return fail(NULL, "create", rc);
    if ((rc = ami_client_connect(c, argv[1], port, 5000)) != 0)
        return fail(c, "connect", rc);
    if ((rc = ami_client_login(c, argv[3], secret, AMI_LOGIN_PLAIN, "off", 5000)) != 0)
        return fail(c, "login", rc);

    ami_action *a = NULL;
    ami_result *r = NULL;
    if ((rc = ami_action_create(&a, "ListCommands")) != 0)
        return fail(c, "ListCommands", rc);
    rc = ami_client_call(c, a, 5000, &r);
    ami_action_free(a);
    if (rc != 0) {
        ami_result_free(r);
        return fail(c, "ListCommands", rc);
    }

    /* One header per action: "Name: synopsis  (Priv: class,...)". The
     * value holds ": " itself, so print it whole. */
    const ami_packet *resp = ami_result_response(r);
    for (size_t i = 0; i < ami_packet_count(resp); i++) {
        const char *key, *value;
        ami_packet_header(resp, i, &key, NULL, &value, NULL);
        if (strcmp(key, "Response") != 0 && strcmp(key, "ActionID") != 0)
            printf("%s: %s\n", key, value);
    }
    ami_result_free(r);

    if ((rc = ami_client_logoff(c, 5000)) != 0)
        return fail(c, "logoff", rc);
    ami_client_free(c);
    return 0;
}
