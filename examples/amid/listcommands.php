<?php
// ListCommands through amid: the seed's first AMI program, with no manager
// secret in the script and no AMI connection of its own.
//   AMID_URL=http://127.0.0.1:8088 AMID_TOKEN=amid_... php listcommands.php [SERVER]
// Needs php-curl.
$url = getenv('AMID_URL') ?: 'http://127.0.0.1:8088';
$token = getenv('AMID_TOKEN');
if (!$token) {
    fwrite(STDERR, "set AMID_TOKEN\n");
    exit(1);
}
$server = $argv[1] ?? 'pbx1';

$ch = curl_init("$url/v1/servers/" . rawurlencode($server) . "/actions");
curl_setopt_array($ch, [
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => json_encode(['Action' => 'ListCommands']),
    CURLOPT_HTTPHEADER => ["Authorization: Bearer $token", 'Content-Type: application/json'],
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_TIMEOUT => 15,
]);
$body = curl_exec($ch);
if ($body === false) {
    fwrite(STDERR, 'amid unreachable: ' . curl_error($ch) . "\n");
    exit(1);
}
$status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
$answer = json_decode($body, true);
if ($status !== 200) {
    fwrite(STDERR, "amid said $status: {$answer['error']}\n");
    exit(1);
}
$response = $answer['response'];
if ($response['Response'] !== 'Success') {
    fwrite(STDERR, "the PBX said: {$response['Message']}\n");
    exit(1);
}
foreach ($response as $key => $value) {
    if ($key !== 'Response' && $key !== 'ActionID') {
        printf("%-24s %s\n", $key, is_array($value) ? implode(', ', $value) : $value);
    }
}
