<?php
// The steps of Copernica's published PHP example, made the way its PomSoapClient makes them: PHP's
// SoapClient in WSDL mode, a `login` call whose session cookie later calls send, parameters as arrays
// (maps as lists of pair objects, requirements as a list of objects), results read from the one member
// of each response. Written for Verrijk's tests; prints one JSON document of what came back.
// Usage: php copernica_steps.php <soap url> <username> <password> <account> <database name>

[$script, $url, $username, $password, $account, $databaseName] = $argv;

function pairs(array $values): array
{
    $pairs = [];
    foreach ($values as $key => $value) {
        $pairs[] = (object) ['key' => $key, 'value' => $value];
    }
    return $pairs;
}

function fault(callable $call): ?string
{
    try {
        $call();
    } catch (SoapFault $fault) {
        return $fault->faultstring;
    }
    return null;
}

$client = new SoapClient($url . '?SOAPAPI=WSDL', [
    'soap_version' => SOAP_1_1,
    'trace' => true,
    'cache_wsdl' => WSDL_CACHE_NONE,
    'compression' => SOAP_COMPRESSION_ACCEPT | SOAP_COMPRESSION_GZIP,
]);
$out = [];
$out['functions'] = count($client->__getFunctions());

// Copernica's 1.6 client answers the fault `Not logged on` by calling `login` again, and its `login` goes
// through the same retrying path. Count the requests a wrong password costs that way (at most 20).
$retrying = new SoapClient($url . '?SOAPAPI=WSDL', ['cache_wsdl' => WSDL_CACHE_NONE]);
$requests = 0;
$relogin = function () use ($retrying, &$requests, $username, $account, &$relogin) {
    $requests++;
    try {
        $retrying->login(['username' => $username, 'password' => 'wrong', 'account' => $account]);
    } catch (SoapFault $fault) {
        if ($fault->faultstring === 'Not logged on' && $requests < 20) {
            $relogin();
            return;
        }
        throw $fault;
    }
};
$out['relogin_fault'] = fault($relogin);
$out['relogin_requests'] = $requests;
$out['bad_login'] = fault(fn () => $client->login(['username' => $username, 'password' => 'wrong', 'account' => $account]));
$out['login'] = $client->login(['username' => $username, 'password' => $password, 'account' => $account])->value;

$found = $client->Account_database(['identifier' => $databaseName]);
$out['existing'] = isset($found->database) ? $found->database->id : null;
$database = $client->Account_createDatabase(['name' => $databaseName])->database;
$out['database'] = $database->name;
foreach (['FirstName' => null, 'LastName' => null, 'Email' => 'email'] as $name => $special) {
    $arguments = ['id' => $database->id, 'name' => $name, 'display' => true];
    if ($special !== null) {
        $arguments['specialcontent'] = $special;
    }
    $field = $client->Database_createField($arguments)->field;
    $out['fields'][$field->name] = [$field->type, $field->displayed, $field->specialcontent];
}
$collection = $client->Database_createCollection(['id' => $database->id, 'name' => 'Children'])->collection;
$client->Collection_createField(['id' => $collection->id, 'name' => 'Name', 'display' => true]);

$piet = $client->Database_createProfile([
    'id' => $database->id,
    'fields' => pairs(['FirstName' => 'Piet', 'LastName' => 'Papier', 'Email' => 'piet@papier.nl']),
])->profile;
$client->Profile_createSubProfile([
    'id' => $piet->id, 'collection' => (object) ['id' => $collection->id], 'fields' => pairs(['Name' => 'Paultje']),
]);
$client->Database_createProfile([
    'id' => $database->id,
    'fields' => pairs(['FirstName' => 'Ed', 'LastName' => 'Emmer', 'Email' => 'ed@emmer.nl']),
]);
$out['invalid_email'] = fault(fn () => $client->Database_createProfile([
    'id' => $database->id, 'fields' => pairs(['Email' => 'not an address']),
]));

$page = $client->Database_searchProfiles([
    'id' => $database->id,
    'requirements' => [(object) ['fieldname' => 'Email', 'value' => 'ed@emmer.nl', 'operator' => '=']],
]);
$items = isset($page->items->profile) ? $page->items->profile : [];
$items = is_array($items) ? $items : [$items];
$out['found'] = count($items);
foreach ($items as $profile) {
    $client->Profile_updateFields(['id' => $profile->id, 'fields' => pairs(['Email' => 'other@address.nl'])]);
    $client->Profile_createSubProfile([
        'id' => $profile->id, 'collection' => (object) ['id' => $collection->id], 'fields' => pairs(['Name' => 'Ingrid']),
    ]);
}
$map = $client->Profile_fields(['id' => $items[0]->id])->map->pair;
$out['ed'] = [];
foreach ($map as $pair) {
    $out['ed'][$pair->key] = $pair->value;
}
// A per-call `login` member on a fresh client (no cookie): Copernica documents it on every method.
$fresh = new SoapClient($url . '?SOAPAPI=WSDL', ['cache_wsdl' => WSDL_CACHE_NONE]);
$login = ['username' => $username, 'account' => $account, 'password' => $password];
$out['per_call_login'] = $fresh->Account_databases(['login' => $login])->total;
$out['per_call_bad_login'] = fault(fn () => $fresh->Account_databases(['login' => ['password' => 'x'] + $login]));
$out['no_credentials'] = fault(fn () => $fresh->Account_databases([]));
echo json_encode($out), "\n";
