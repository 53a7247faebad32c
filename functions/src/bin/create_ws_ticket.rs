//! The `create_ws_ticket` Lambda: see `im_functions::by_name::create_ws_ticket`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::create_ws_ticket()).await
}
