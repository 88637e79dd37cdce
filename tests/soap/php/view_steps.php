<?php
// Reading and maintaining a selection the way a PHP integration written for Copernica does: PHP's SoapClient
// in WSDL mode, `access_token` in every call's parameters, results read from the one member of each response.
// A second account's token then tries the same ids. Written for Verrijk's tests; prints one JSON document.
// Usage: php view_steps.php <soap url> <token> <other account's token> <database id> <collection id>

[$script, $url, $token, $otherToken, $databaseId, $collectionId] = $argv;

function listed($page, string $name): array
{
    if (!isset($page->items->$name)) {
        return [];
    }
    $found = $page->items->$name;
    return is_array($found) ? $found : [$found];
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

$client = new SoapClient($url . '?SOAPAPI=WSDL', ['soap_version' => SOAP_1_1, 'cache_wsdl' => WSDL_CACHE_NONE]);
$call = fn (string $method, array $parameters) => $client->$method($parameters + ['access_token' => $token]);
$out = [];

$view = $call('Database_createView', ['id' => $databaseId, 'name' => 'Newsletter'])->view;
$rule = $call('View_createRule', ['id' => $view->id, 'name' => 'Delft'])->rule;
$call('Rule_createCondition', ['id' => $rule->id, 'type' => 'Field', 'field' => 'City', 'comparison' => 'equals', 'value' => 'Delft']);
$out['found'] = $call('Database_view', ['id' => $databaseId, 'identifier' => 'newsletter'])->view->id === $view->id;
$out['updated'] = $call('View_update', ['id' => $view->id, 'description' => 'weekly'])->value;
$out['description'] = $call('View_retrieve', ['id' => $view->id])->view->description;
$page = $call('View_profiles', ['id' => $view->id, 'start' => 0, 'length' => 10, 'allproperties' => true]);
$out['members'] = $page->total;
$out['member_ids'] = array_map(fn ($profile) => $profile->id, listed($page, 'profile'));
$conditions = $call('Rule_conditions', ['id' => $rule->id]);
$out['conditions'] = array_map(
    fn ($condition) => [$condition->field, $condition->comparison, $condition->value],
    listed($conditions, 'fieldcondition')
);
$out['inversed'] = $call('Rule_update', ['id' => $rule->id, 'inversed' => true])->value;
$out['members_inversed'] = $call('View_profiles', ['id' => $view->id])->total;
$out['disabled_fault'] = fault(fn () => $call('Rule_update', ['id' => $rule->id, 'disabled' => true]));
$mini = $call('Collection_createMiniView', ['id' => $collectionId, 'name' => 'All orders'])->miniview;
$out['miniviews'] = array_map(fn ($m) => $m->name, listed($call('Collection_miniViews', ['id' => $collectionId]), 'miniview'));
$out['mini_members'] = $call('MiniView_searchSubProfiles', ['id' => $mini->id])->total;

// Another account's token: every id is unknown (an empty result), and nothing changes.
$other = fn (string $method, array $parameters) => $client->$method($parameters + ['access_token' => $otherToken]);
$out['other'] = [
    'view' => isset($other('View_retrieve', ['id' => $view->id])->view),
    'by_name' => isset($other('Database_view', ['id' => $databaseId, 'identifier' => 'Newsletter'])->view),
    'members' => $other('View_profiles', ['id' => $view->id])->total,
    'conditions' => $other('Rule_conditions', ['id' => $rule->id])->total,
    'miniviews' => $other('Collection_miniViews', ['id' => $collectionId])->total,
    'remove_rule' => isset($other('Rule_remove', ['id' => $rule->id])->value),
    'remove_view' => isset($other('View_remove', ['id' => $view->id])->value),
];
$out['rules_after'] = count(listed($call('View_rules', ['id' => $view->id]), 'rule'));
$out['removed_rule'] = $call('Rule_remove', ['id' => $rule->id])->value;
$out['removed'] = $call('View_remove', ['id' => $view->id])->value;
$out['gone'] = isset($call('View_retrieve', ['id' => $view->id])->view);
echo json_encode($out), "\n";
